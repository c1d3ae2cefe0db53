/**
 * The build context and the Dockerfile: a local directory; a tar archive
 * (any compression) on stdin or at an http(s) URL, unpacked into a private
 * temporary directory through the layer extractor (nothing lands outside
 * it); a git repository (`git://`, `git@`, `…​.git`, `github.com/…`, with an
 * optional `#ref:subdir`) cloned shallowly; or, for `-` and URLs that are
 * not archives, a Dockerfile with an empty context, as Docker takes it.
 */
import {existsSync, mkdtempSync, readFileSync, statSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'
import {Readable} from 'node:stream'
import {BuildError, InvalidArgumentError} from '../errors/index.js'
import {cloneGitRepository, isGitUrl, parseGitUrl} from './git.js'

export interface PreparedContext {
  /** The context directory. */
  dir: string
  /** Set when the context itself was a Dockerfile (stdin or URL without an archive). */
  dockerfileText?: string
  /** Remove what preparing made (temporary directories). */
  cleanup: () => Promise<void>
}

export interface DockerfileSource {
  text: string
  /** The path as messages show it and as .dockerignore is looked up next to. */
  path: string
}

export {isGitUrl}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tspod-build-'))
}

/** A stream that is a tar archive goes to a fresh directory; anything else comes back as text. */
async function unpackOrText(input: Readable): Promise<{dir: string} | {text: string}> {
  const {decompressStream, detectCompression, peekStream} = await import('../storage/compression.js')
  const {head, stream} = await peekStream(input, 512)
  const kind = detectCompression(head)
  const isTar = kind !== 'none' || (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar')
  if (!isTar) {
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
    return {text: Buffer.concat(chunks).toString('utf8')}
  }
  const dir = tempDir()
  const {extractLayer} = await import('../storage/layer-tar.js')
  try {
    await extractLayer(decompressStream(stream, kind), dir, {rootless: true, whiteoutMode: 'delete'})
  } catch (err) {
    await rm(dir, {recursive: true, force: true})
    throw err
  }
  return {dir}
}

export async function prepareContext(arg: string | undefined, stdin: Readable): Promise<PreparedContext> {
  const none = async () => {}
  const source = arg ?? '.'
  if (source === '-') {
    const got = await unpackOrText(stdin)
    return fromUnpacked(got)
  }
  if (isGitUrl(source)) return cloneGit(source)
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source, {redirect: 'follow'}).catch((err: Error) => {
      throw new BuildError(`fetching the build context ${source}: ${err.message}`)
    })
    if (!response.ok || !response.body) throw new BuildError(`fetching the build context ${source}: HTTP ${response.status} ${response.statusText}`)
    return fromUnpacked(await unpackOrText(Readable.fromWeb(response.body as never)))
  }
  const dir = resolve(source)
  let stats
  try {
    stats = statSync(dir)
  } catch {
    throw new InvalidArgumentError(`the build context ${source} does not exist`, {hint: 'Give a directory, - for a tar archive on stdin, or a git or http(s) URL'})
  }
  if (!stats.isDirectory()) throw new InvalidArgumentError(`the build context ${source} is not a directory`, {hint: 'Give a directory, - for a tar archive on stdin, or a git or http(s) URL'})
  return {dir, cleanup: none}
}

function fromUnpacked(got: {dir: string} | {text: string}): PreparedContext {
  if ('dir' in got) return {dir: got.dir, cleanup: () => rm(got.dir, {recursive: true, force: true})}
  const dir = tempDir()
  return {dir, dockerfileText: got.text, cleanup: () => rm(dir, {recursive: true, force: true})}
}

async function cloneGit(url: string): Promise<PreparedContext> {
  const dir = tempDir()
  const cleanup = () => rm(dir, {recursive: true, force: true})
  try {
    return {dir: await cloneGitRepository(parseGitUrl(url), dir, {keepGitDir: true}), cleanup}
  } catch (err) {
    await cleanup()
    throw err
  }
}

/**
 * The Dockerfile: -f paths (relative to the working directory, else to the
 * context; several are joined), `-f -` for stdin, or Containerfile, then
 * Dockerfile, in the context.
 */
export async function readDockerfiles(files: string[], context: PreparedContext, stdin: Readable): Promise<DockerfileSource> {
  if (files.length === 0) {
    if (context.dockerfileText !== undefined) return {text: context.dockerfileText, path: join(context.dir, 'Dockerfile')}
    for (const name of ['Containerfile', 'Dockerfile']) {
      const path = join(context.dir, name)
      if (existsSync(path)) return {text: readFileSync(path, 'utf8'), path}
    }
    throw new InvalidArgumentError(`no Containerfile or Dockerfile found in the build context ${context.dir}`, {hint: 'Give the file with -f PATH'})
  }
  const texts: string[] = []
  let first = ''
  for (const file of files) {
    if (file === '-') {
      const chunks: Buffer[] = []
      for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer))
      texts.push(Buffer.concat(chunks).toString('utf8'))
      first ||= join(context.dir, 'Dockerfile')
      continue
    }
    const candidates = isAbsolute(file) ? [file] : [resolve(file), join(context.dir, file)]
    const path = candidates.find(p => existsSync(p))
    if (!path) throw new InvalidArgumentError(`the Dockerfile ${file} does not exist`, {hint: 'Check the -f path (relative to the current directory or to the context)'})
    texts.push(readFileSync(path, 'utf8'))
    first ||= path
  }
  return {text: texts.map(t => (t.endsWith('\n') ? t : `${t}\n`)).join(''), path: first}
}
