/**
 * Git repositories as build inputs: the build context (context.ts) and
 * `ADD <git URL> <dir>` (executor.ts). A URL names the remote and, after
 * `#`, a ref (branch, tag or full commit) and a directory: `#ref:subdir`.
 * `git ls-remote` resolves the ref to a commit without fetching anything,
 * so a cache key can hold the commit before a clone is paid for; the clone
 * is shallow and must land on that same commit.
 */
import {execFile} from 'node:child_process'
import {realpathSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {resolve, sep} from 'node:path'
import {BuildError, InvalidArgumentError} from '../errors/index.js'

export interface GitReference {
  /** The URL as written, for messages. */
  url: string
  /** What git clones from. */
  remote: string
  /** Branch, tag or full commit; undefined for the remote's HEAD. */
  ref?: string
  /** A directory inside the repository. */
  subdir?: string
}

const GIT_URL = /^(git:\/\/|git@|github\.com\/)|\.git(#.*)?$/
const FULL_COMMIT = /^[0-9a-f]{40}$/

export function isGitUrl(arg: string): boolean {
  return GIT_URL.test(arg)
}

export function parseGitUrl(url: string): GitReference {
  const hash = url.indexOf('#')
  const repo = hash === -1 ? url : url.slice(0, hash)
  const fragment = hash === -1 ? '' : url.slice(hash + 1)
  const colon = fragment.indexOf(':')
  const ref = colon === -1 ? fragment : fragment.slice(0, colon)
  const subdir = colon === -1 ? '' : fragment.slice(colon + 1)
  return {url, remote: repo.startsWith('github.com/') ? `https://${repo}` : repo, ref: ref || undefined, subdir: subdir || undefined}
}

/** Runs git without a terminal prompt; a failure becomes a BuildError naming `what` and git's last line. */
function git(args: string[], what: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile('git', args, {env: {...process.env, GIT_TERMINAL_PROMPT: '0'}, maxBuffer: 64 * 1024 * 1024}, (err, stdout, stderr) => {
      if (!err) return done(stdout)
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
      const cause = missing ? 'git is not installed' : stderr.trim().split('\n').pop() || err.message
      fail(new BuildError(`${what}: ${cause}`, {hint: missing ? 'Install git (apt-get install git)' : undefined}))
    })
  })
}

/**
 * The commit `ref` names in `git ls-remote` output, with `git clone
 * --branch`'s preference: a branch, then a tag (an annotated tag's peeled
 * commit); without a ref, HEAD.
 */
export function pickCommit(lsRemote: string, ref: string | undefined): string | undefined {
  const refs = new Map<string, string>()
  for (const line of lsRemote.split('\n')) {
    const [commit, name] = line.split('\t')
    if (commit && name) refs.set(name, commit)
  }
  if (ref === undefined) return refs.get('HEAD')
  const candidates = [`refs/heads/${ref}`, `refs/tags/${ref}^{}`, `refs/tags/${ref}`, ref]
  for (const name of candidates) {
    const commit = refs.get(name)
    if (commit !== undefined) return commit
  }
  return undefined
}

/** The commit the reference names now, asked of the remote without cloning. */
export async function resolveGitCommit(source: GitReference): Promise<string> {
  const patterns = source.ref === undefined ? ['HEAD'] : [source.ref, `${source.ref}^{}`]
  const out = await git(['ls-remote', '--', source.remote, ...patterns], `resolving ${source.url}`)
  const commit = pickCommit(out, source.ref)
  if (commit !== undefined) return commit
  if (source.ref !== undefined && FULL_COMMIT.test(source.ref)) return source.ref
  throw new BuildError(`resolving ${source.url}: the repository has no branch or tag ${source.ref ?? 'HEAD'}`, {
    hint: 'Check the part after # (a branch, a tag or a full 40-character commit)',
  })
}

export interface CloneOptions {
  /** The commit the clone must land on (from resolveGitCommit); checked after cloning. */
  commit?: string
  /** Keep the repository's .git directory (ADD --keep-git-dir); otherwise it is removed. */
  keepGitDir: boolean
}

/**
 * A shallow clone of the reference into `dir` (which must not exist or be
 * empty), submodules included; returns the directory the URL names
 * (`dir` or its subdir). A full commit as the ref is fetched by itself.
 */
export async function cloneGitRepository(source: GitReference, dir: string, options: CloneOptions): Promise<string> {
  const what = `cloning ${source.url}`
  if (source.ref !== undefined && FULL_COMMIT.test(source.ref)) {
    await git(['init', '--quiet', '--', dir], what)
    await git(['-C', dir, 'fetch', '--quiet', '--depth', '1', '--', source.remote, source.ref], what)
    await git(['-C', dir, 'checkout', '--quiet', 'FETCH_HEAD'], what)
    await git(['-C', dir, 'submodule', 'update', '--quiet', '--init', '--recursive', '--depth', '1'], what)
  } else {
    await git(['clone', '--quiet', '--depth', '1', '--recurse-submodules', ...(source.ref ? ['--branch', source.ref] : []), '--', source.remote, dir], what)
  }
  if (options.commit !== undefined) {
    const head = (await git(['-C', dir, 'rev-parse', 'HEAD'], what)).trim()
    if (head !== options.commit) {
      throw new BuildError(`${what}: ${source.ref ?? 'HEAD'} moved from ${options.commit} to ${head} during the build`, {hint: 'Build again'})
    }
  }
  if (!options.keepGitDir) await rm(resolve(dir, '.git'), {recursive: true, force: true})
  if (source.subdir === undefined) return dir
  // Resolved, so a symlink in the repository cannot point the build outside it.
  const top = realpathSync(dir)
  let root: string | undefined
  try {
    root = realpathSync(resolve(top, source.subdir))
  } catch {
    root = undefined
  }
  if (root === undefined || !(root === top || root.startsWith(`${top}${sep}`))) {
    throw new InvalidArgumentError(`${source.url}: no directory ${source.subdir} in the repository`, {hint: 'Check the part after the : in the URL'})
  }
  return root
}
