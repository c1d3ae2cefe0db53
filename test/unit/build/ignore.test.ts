import t from 'tap'
import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {cleanPath, createIgnoreMatcher, loadIgnore, readIgnorePatterns} from '../../../src/build/ignore.js'
import {DockerfileError} from '../../../src/build/dockerfile-error.js'

const matcher = (...patterns: string[]) => createIgnoreMatcher(readIgnorePatterns(patterns.join('\n')), undefined)

// Pattern/path pairs from Docker's pattern matcher tests.
const matchCases: [string, string, boolean][] = [
  ['**', 'file', true],
  ['**', 'file/', true],
  ['**/', 'file', true],
  ['**/', 'file/', true],
  ['**', '/', true],
  ['**', 'dir/file', true],
  ['**/', 'dir/file', true],
  ['**/**', 'dir/file', true],
  ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/dir2/file', true],
  ['**/dir', 'dir', true],
  ['**/dir', 'dir/file', true],
  ['**/dir2/*', 'dir/dir2/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true],
  ['**file', 'file', true],
  ['**file', 'dir/file', true],
  ['**/file', 'dir/file', true],
  ['**file', 'dir/dir/file', true],
  ['**foo', 'barfoo', false],
  ['**foo', 'x/barfoo', false],
  ['**/file', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file.txt', true],
  ['**/file*txt', 'dir/dir/file.txt', true],
  ['**/file*.txt', 'dir/dir/file.txt', true],
  ['**/file*.txt*', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt2', 'dir/dir/file.txt', false],
  ['**/*.txt', 'file.txt', true],
  ['**/**/*.txt', 'file.txt', true],
  ['a**/*.txt', 'a/file.txt', true],
  ['a**/*.txt', 'a/dir/file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true],
  ['a/*.txt', 'a/dir/file.txt', false],
  ['a/*.txt', 'a/file.txt', true],
  ['a/*.txt**', 'a/file.txt', true],
  ['a[b-d]e', 'ae', false],
  ['a[b-d]e', 'ace', true],
  ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true],
  ['.*', '.foo', true],
  ['.*', 'foo', false],
  ['abc.def', 'abcdef', false],
  ['abc.def', 'abc.def', true],
  ['abc.def', 'abcZdef', false],
  ['abc?def', 'abcZdef', true],
  ['abc?def', 'abcdef', false],
  ['a\\\\', 'a\\', true],
  ['**/foo/bar', 'foo/bar', true],
  ['**/foo/bar', 'dir/foo/bar', true],
  ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false],
  ['abc/**', 'abc/def', true],
  ['abc/**', 'abc/def/ghi', true],
  ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false],
  ['a(b)c/def', 'a(b)c/def', true],
  ['a(b)c/def', 'a(b)c/xyz', false],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['*', 'a/b', true],
  ['*.go', 'dir/x.go', false],
  ['dir/*', 'dir', false],
  ['dir', 'dir/sub/file', true],
  ['/abs/path', 'abs/path/file', true],
  ['./a/../b', 'b', true],
]

t.test('patterns match as Docker matches them', async t => {
  for (const [pattern, path, want] of matchCases) {
    t.equal(matcher(pattern).ignores(path), want, `${pattern} vs ${path}`)
  }
})

t.test('later patterns win and ! re-includes', async t => {
  let m = matcher('*.md', '!README.md')
  t.equal(m.ignores('CHANGES.md'), true)
  t.equal(m.ignores('README.md'), false)
  m = matcher('!README.md', '*.md')
  t.equal(m.ignores('README.md'), true, 'an exception before the pattern does nothing')
  m = matcher('docs', '!docs/keep.md')
  t.equal(m.ignores('docs/other.md'), true)
  t.equal(m.ignores('docs/keep.md'), false)
  t.equal(m.ignores('docs'), true)
  m = matcher('**', '!src', 'src/*.test.ts')
  t.equal(m.ignores('src/a.ts'), false)
  t.equal(m.ignores('src/a.test.ts'), true)
  t.equal(m.ignores('node_modules/x'), true)
  m = matcher('**/node_modules')
  t.equal(m.ignores('a/b/node_modules/x/index.js'), true)
  t.equal(m.ignores('a/b/node_modules2'), false)
  t.equal(matcher().ignores('anything'), false)
})

t.test('mayContainIncluded lets a walker skip ignored directories', async t => {
  t.equal(matcher('build').mayContainIncluded('build'), false, 'no exceptions: skip')
  const m = matcher('build', '!build/keep/*.txt', 'vendor')
  t.equal(m.mayContainIncluded('build'), true)
  t.equal(m.mayContainIncluded('build/keep'), true)
  t.equal(m.mayContainIncluded('build/other'), false)
  t.equal(m.mayContainIncluded('vendor'), false)
  t.equal(matcher('*', '!**/*.go').mayContainIncluded('any/dir'), true)
  t.equal(matcher('*', '!*/keep').mayContainIncluded('x'), true)
  t.equal(matcher('*', '!*/keep').mayContainIncluded('x/y'), false)
  t.equal(matcher('*', '!*/keep').mayContainIncluded('x/keep'), true)
  t.equal(matcher('*', '!a/b/c').mayContainIncluded('z'), false)
})

t.test('reading an ignore file', async t => {
  t.same(readIgnorePatterns('# comment\n\n  *.md  \n!  README.md\n/abs\n./rel/../x/\n  # not a comment\n'), ['*.md', '!README.md', 'abs', 'x', '# not a comment'])
  t.same(readIgnorePatterns('\uFEFFa\r\nb\r\n'), ['a', 'b'])
  t.throws(() => createIgnoreMatcher(['!'], '.dockerignore'), {message: /\.dockerignore: illegal exclusion pattern "!"/})
  t.throws(() => matcher('a['), DockerfileError)
  t.throws(() => matcher('a[]'), DockerfileError)
  t.throws(() => matcher('a\\'), DockerfileError)
})

t.test('cleanPath is filepath.Clean', async t => {
  const cases: [string, string][] = [['', '.'], ['a/b/', 'a/b'], ['a//b', 'a/b'], ['./a', 'a'], ['a/../..', '..'], ['/../a', '/a'], ['/', '/'], ['a/./b/../c', 'a/c']]
  for (const [input, want] of cases) t.equal(cleanPath(input), want, input)
})

t.test('loadIgnore looks where Podman looks', async t => {
  const root = mkdtempSync(join(tmpdir(), 'tspod-ignore-'))
  const ctx = join(root, 'ctx')
  mkdirSync(ctx)
  const df = join(root, 'Containerfile')
  writeFileSync(df, 'FROM scratch\n')
  let m = await loadIgnore(ctx, df)
  t.equal(m.source, undefined)
  t.equal(m.ignores('x'), false)
  writeFileSync(join(ctx, '.dockerignore'), 'from-dockerignore\n')
  t.equal((await loadIgnore(ctx, df)).source, join(ctx, '.dockerignore'))
  writeFileSync(join(ctx, '.containerignore'), 'from-containerignore\n')
  m = await loadIgnore(ctx, df)
  t.equal(m.source, join(ctx, '.containerignore'))
  t.equal(m.ignores('from-containerignore'), true)
  t.equal(m.ignores('from-dockerignore'), false)
  writeFileSync(`${df}.containerignore`, 'beside-containerignore\n')
  t.equal((await loadIgnore(ctx, df)).source, `${df}.containerignore`)
  writeFileSync(`${df}.dockerignore`, 'beside\n')
  m = await loadIgnore(ctx, df)
  t.equal(m.source, `${df}.dockerignore`)
  t.same(m.patterns, ['beside'])
  const explicit = join(root, 'my.ignore')
  writeFileSync(explicit, 'explicit\n')
  t.same((await loadIgnore(ctx, df, {ignoreFile: explicit})).patterns, ['explicit'])
  await t.rejects(loadIgnore(ctx, df, {ignoreFile: join(root, 'missing')}), {code: 'ENOENT'})
})
