import t, {type Test} from 'tap'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {BuildError, InvalidArgumentError} from '../../../src/errors/index.js'
import {cloneGitRepository, isGitUrl, parseGitUrl, pickCommit, resolveGitCommit} from '../../../src/build/git.js'

t.test('URLs', async t => {
  for (const url of ['git://host/repo', 'git@github.com:o/r.git', 'https://example.com/r.git', 'https://example.com/r.git#main:sub', 'github.com/o/r']) t.ok(isGitUrl(url), url)
  for (const url of ['https://example.com/file.tar.gz', 'src/', 'gitlab', 'https://example.com/r.git/x']) t.notOk(isGitUrl(url), url)
  t.same(parseGitUrl('https://h/r.git'), {url: 'https://h/r.git', remote: 'https://h/r.git', ref: undefined, subdir: undefined})
  t.same(parseGitUrl('git://h/r#v1.2:docs/site'), {url: 'git://h/r#v1.2:docs/site', remote: 'git://h/r', ref: 'v1.2', subdir: 'docs/site'})
  t.same(parseGitUrl('git@h:o/r.git#:sub'), {url: 'git@h:o/r.git#:sub', remote: 'git@h:o/r.git', ref: undefined, subdir: 'sub'}, 'a subdir of HEAD')
  t.equal(parseGitUrl('github.com/o/r#main').remote, 'https://github.com/o/r')
})

t.test('the commit a ref names in ls-remote output', async t => {
  const out = [
    'aaaa\tHEAD',
    'aaaa\trefs/heads/main',
    'bbbb\trefs/tags/main',
    'cccc\trefs/tags/v1',
    'dddd\trefs/tags/v1^{}',
    'eeee\trefs/tags/light',
  ].join('\n')
  t.equal(pickCommit(out, undefined), 'aaaa', 'no ref: HEAD')
  t.equal(pickCommit(out, 'main'), 'aaaa', 'a branch before a tag of the same name')
  t.equal(pickCommit(out, 'v1'), 'dddd', 'an annotated tag: the commit it points at')
  t.equal(pickCommit(out, 'light'), 'eeee')
  t.equal(pickCommit(out, 'refs/tags/main'), 'bbbb', 'a full ref name')
  t.equal(pickCommit(out, 'nope'), undefined)
})

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], {cwd, encoding: 'utf8'}).trim()
}

function repository(t: Test): {dir: string; url: string} {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-git-test-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const work = join(dir, 'work')
  mkdirSync(join(work, 'sub'), {recursive: true})
  git(work, 'init', '-q')
  writeFileSync(join(work, 'f.txt'), 'one\n')
  writeFileSync(join(work, 'sub', 's.txt'), 's\n')
  symlinkSync('/etc', join(work, 'out'))
  git(work, 'add', '.')
  git(work, 'commit', '-qm', 'one')
  git(work, 'tag', '-a', 'v1', '-m', 'v1')
  return {dir, url: `file://${work}`}
}

t.test('resolve, then clone that commit', async t => {
  const {dir, url} = repository(t)
  const work = join(dir, 'work')
  const head = git(work, 'rev-parse', 'HEAD')
  t.equal(await resolveGitCommit(parseGitUrl(url)), head)
  t.equal(await resolveGitCommit(parseGitUrl(`${url}#v1`)), head, 'an annotated tag resolves to its commit')
  await t.rejects(resolveGitCommit(parseGitUrl(`${url}#nope`)), BuildError)

  const plain = join(dir, 'plain')
  t.equal(await cloneGitRepository(parseGitUrl(`${url}#main`), plain, {commit: head, keepGitDir: false}), plain)
  t.equal(readFileSync(join(plain, 'f.txt'), 'utf8'), 'one\n')
  t.notOk(existsSync(join(plain, '.git')), '.git is dropped')

  const kept = join(dir, 'kept')
  await cloneGitRepository(parseGitUrl(`${url}#v1`), kept, {commit: head, keepGitDir: true})
  t.ok(existsSync(join(kept, '.git')), '--keep-git-dir keeps it')

  const sub = await cloneGitRepository(parseGitUrl(`${url}#main:sub`), join(dir, 'sub'), {keepGitDir: false})
  t.equal(readFileSync(join(sub, 's.txt'), 'utf8'), 's\n', 'a subdirectory')
  await t.rejects(cloneGitRepository(parseGitUrl(`${url}#main:out`), join(dir, 'esc'), {keepGitDir: false}), InvalidArgumentError, 'a symlink out of the repository is no subdirectory')
  await t.rejects(cloneGitRepository(parseGitUrl(`${url}#main:none`), join(dir, 'none'), {keepGitDir: false}), {message: `${url}#main:none: no directory none in the repository`})

  const byCommit = await cloneGitRepository(parseGitUrl(`${url}#${head}`), join(dir, 'bycommit'), {commit: head, keepGitDir: false})
  t.equal(readFileSync(join(byCommit, 'f.txt'), 'utf8'), 'one\n', 'a full commit is fetched by itself')

  writeFileSync(join(work, 'f.txt'), 'two\n')
  git(work, 'commit', '-qam', 'two')
  await t.rejects(cloneGitRepository(parseGitUrl(`${url}#main`), join(dir, 'moved'), {commit: head, keepGitDir: false}), {message: /main moved from .* during the build/})
})
