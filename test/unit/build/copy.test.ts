import t, {type Test} from 'tap'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {extract} from 'tar-stream'
import {
  destinationIsDirectory,
  digestAndKeep,
  digestStream,
  hasGlob,
  isLocalArchive,
  matchPath,
  matchSegment,
  normalisedTar,
  placeSource,
  resolveSource,
  type ResolvedSource,
} from '../../../src/build/copy.js'
import {parseChmod} from '../../../src/build/chmod.js'
import {packDirectory} from '../../../src/storage/layer-tar.js'

interface Entry {
  name: string
  type: string
  uid: number
  gid: number
  mode: number
  mtime: number
  linkname?: string | null
}

async function entries(stream: Readable): Promise<Entry[]> {
  const out: Entry[] = []
  const parser = extract()
  parser.on('entry', (header, body, next) => {
    out.push({name: header.name, type: header.type ?? 'file', uid: header.uid ?? 0, gid: header.gid ?? 0, mode: header.mode ?? 0, mtime: (header.mtime?.getTime() ?? 0) / 1000, linkname: header.linkname})
    body.on('end', next)
    body.resume()
  })
  await new Promise<void>((resolve, reject) => {
    parser.on('finish', resolve)
    parser.on('error', reject)
    stream.on('error', reject)
    stream.pipe(parser)
  })
  return out
}

function fixtureDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-copy-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  mkdirSync(join(dir, 'src/sub'), {recursive: true})
  writeFileSync(join(dir, 'src/one.txt'), 'one\n')
  writeFileSync(join(dir, 'src/two.log'), 'two\n')
  writeFileSync(join(dir, 'src/sub/s.txt'), 's\n')
  writeFileSync(join(dir, 'ignored.txt'), 'no\n')
  symlinkSync('/etc', join(dir, 'out'))
  symlinkSync('src/one.txt', join(dir, 'inside'))
  return dir
}

t.test('matchSegment follows Go filepath.Match', async t => {
  t.ok(matchSegment('*.txt', 'a.txt'))
  t.notOk(matchSegment('*.txt', 'a.log'))
  t.ok(matchSegment('a?c', 'abc'))
  t.ok(matchSegment('[a-c]x', 'bx'))
  t.notOk(matchSegment('[^a-c]x', 'bx'))
  t.ok(matchSegment('[!a-c]x', 'dx'))
  t.ok(matchSegment('\\*', '*'))
  t.notOk(matchSegment('\\*', 'a'))
  t.ok(matchSegment('*', ''))
  t.ok(hasGlob('src/*.txt'))
  t.notOk(hasGlob('src/one.txt'))
})

t.test('matchPath matches segment by segment, ** spanning any number', async t => {
  t.ok(matchPath('*.log', 'two.log'))
  t.notOk(matchPath('*.log', 'sub/two.log'))
  t.ok(matchPath('**/*.log', 'sub/deep/two.log'))
  t.ok(matchPath('**/*.log', 'two.log'))
  t.ok(matchPath('sub', 'sub'))
})

t.test('resolveSource stays inside its root', async t => {
  const dir = fixtureDir(t)
  const opts = {rootName: 'build context'}
  t.same(resolveSource(dir, 'src/*.txt', opts).map(s => s.rel), ['src/one.txt'])
  t.same(resolveSource(dir, 'src/*', opts).map(s => [s.rel, s.isDir]), [['src/one.txt', false], ['src/sub', true], ['src/two.log', false]])
  t.equal(resolveSource(dir, 'inside', opts)[0]!.abs, join(dir, 'src/one.txt'), 'a symlink inside the context is followed inside it')
  t.throws(() => resolveSource(dir, 'out/passwd', opts), /out\/passwd: no such file or directory in the build context/, 'an absolute symlink restarts at the context root')
  t.throws(() => resolveSource(dir, '../../../../etc/passwd', opts), /no such file or directory/, '.. stops at the root')
  t.throws(() => resolveSource(dir, 'nothing*', opts), /nothing\*: no such file or directory/)
  const ignore = {ignores: (rel: string) => rel === 'ignored.txt', mayContainIncluded: () => false}
  t.throws(() => resolveSource(dir, 'ignored.txt', {...opts, ignore}), {message: 'ignored.txt: no such file or directory in the build context', hint: 'Check the path, and that .dockerignore does not exclude it'})
  t.throws(() => resolveSource(dir, '*.txt', {...opts, ignore}), /no such file/, 'wildcards skip ignored files')
})

t.test('normalisedTar: owners, modes, clamped times, ignore and --exclude', async t => {
  const dir = fixtureDir(t)
  utimesSync(join(dir, 'src/one.txt'), 2_000_000_000, 2_000_000_000)
  utimesSync(join(dir, 'src/two.log'), 100, 100)
  const [source] = resolveSource(dir, 'src', {rootName: 'ctx'}) as [ResolvedSource]
  const all = await entries(await normalisedTar(source, 'dst', {times: {epoch: 1000}, excludes: []}))
  t.same(all.map(e => e.name).sort(), ['dst/one.txt', 'dst/sub/', 'dst/sub/s.txt', 'dst/two.log'])
  t.ok(all.every(e => e.uid === 0 && e.gid === 0), 'context files become root\'s')
  t.equal(all.find(e => e.name === 'dst/one.txt')!.mtime, 1000, 'newer times are clamped to the epoch')
  t.equal(all.find(e => e.name === 'dst/two.log')!.mtime, 100, 'older times stay')
  const filtered = await entries(await normalisedTar(source, '', {
    times: {epoch: 1000, timestamp: 5},
    excludes: ['*.log'],
    owner: {uid: 7, gid: 8},
    chmod: parseChmod('0600'),
    ignore: {ignores: rel => rel === 'src/sub/s.txt', mayContainIncluded: () => false},
  }))
  t.same(filtered.map(e => e.name).sort(), ['one.txt', 'sub/'])
  t.ok(filtered.every(e => e.uid === 7 && e.gid === 8 && e.mtime === 5 && e.mode === 0o600))
  const [file] = resolveSource(dir, 'src/one.txt', {rootName: 'ctx'}) as [ResolvedSource]
  const single = await entries(await normalisedTar(file, 'renamed', {times: {epoch: 0}, excludes: []}))
  t.same(single.map(e => [e.name, e.mtime]), [['renamed', 0]])
})

t.test('digests depend on content, not on where the context lives', async t => {
  const a = fixtureDir(t)
  const b = fixtureDir(t)
  utimesSync(join(b, 'src/one.txt'), 1_900_000_000, 1_900_000_000)
  const digest = async (dir: string) => digestStream(await normalisedTar(resolveSource(dir, 'src', {rootName: 'ctx'})[0]!, 'f', {times: {epoch: 0}, excludes: []}))
  t.equal(await digest(a), await digest(b))
  writeFileSync(join(b, 'src/sub/s.txt'), 'changed\n')
  t.not(await digest(a), await digest(b))
})

t.test('placeSource and destinationIsDirectory follow Docker\'s rules', async t => {
  const file: ResolvedSource = {root: '/ctx', abs: '/ctx/src/a.txt', rel: 'src/a.txt', isDir: false, wildcard: false}
  const dir: ResolvedSource = {root: '/ctx', abs: '/ctx/src', rel: 'src', isDir: true, wildcard: false}
  t.same(placeSource('/app/', file, true, false, false), {dir: '/app', prefix: 'a.txt'})
  t.same(placeSource('/app/b.txt', file, false, false, false), {dir: '/app', prefix: 'b.txt'})
  t.same(placeSource('/app', dir, false, false, false), {dir: '/app', prefix: ''}, 'a directory copies its contents')
  t.same(placeSource('/app/', file, true, true, false), {dir: '/app', prefix: 'src/a.txt'}, '--parents keeps the path')
  t.same(placeSource('/app/', dir, true, true, false), {dir: '/app', prefix: 'src'})
  t.same(placeSource('/x/', file, true, false, true), {dir: '/x', prefix: ''}, 'archives unpack into the destination')
  const root = mkdtempSync(join(tmpdir(), 'tspod-root-'))
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  mkdirSync(join(root, 'existing'))
  t.ok(destinationIsDirectory(root, '/new/', 1, false))
  t.ok(destinationIsDirectory(root, '/existing', 1, false))
  t.ok(destinationIsDirectory(root, '/new', 2, false))
  t.ok(destinationIsDirectory(root, '/new', 1, true))
  t.notOk(destinationIsDirectory(root, '/new', 1, false))
})

t.test('isLocalArchive recognises plain and compressed tars only', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-arch-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  mkdirSync(join(dir, 'in'))
  writeFileSync(join(dir, 'in/x'), 'x')
  const tar = Buffer.concat(await (async () => {
    const chunks: Buffer[] = []
    for await (const c of packDirectory(join(dir, 'in'), {xattrs: false})) chunks.push(c as Buffer)
    return chunks
  })())
  writeFileSync(join(dir, 'plain.tar'), tar)
  const {gzipSync} = await import('node:zlib')
  writeFileSync(join(dir, 'x.tgz'), gzipSync(tar))
  writeFileSync(join(dir, 'text'), 'just text\n')
  t.ok(await isLocalArchive(join(dir, 'plain.tar')))
  t.ok(await isLocalArchive(join(dir, 'x.tgz')))
  t.notOk(await isLocalArchive(join(dir, 'text')))
})

t.test('packDirectory: timestamp sets every mtime', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ts-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  writeFileSync(join(dir, 'old'), 'o')
  utimesSync(join(dir, 'old'), 10, 10)
  writeFileSync(join(dir, 'new'), 'n')
  const stamped = await entries(packDirectory(dir, {xattrs: false, timestamp: 500}))
  t.same(stamped.map(e => e.mtime), [500, 500])
  const clamped = await entries(packDirectory(dir, {xattrs: false, sourceDateEpoch: 500}))
  t.same(clamped.map(e => [e.name, e.mtime]), [['new', 500], ['old', 10]])
})

t.test('a mode of 0000 survives packing and normalising', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-zero-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  writeFileSync(join(dir, 'none'), '')
  chmodSync(join(dir, 'none'), 0)
  t.same((await entries(packDirectory(dir, {xattrs: false}))).map(e => e.mode), [0])
  const [source] = resolveSource(dir, 'none', {rootName: 'ctx'}) as [ResolvedSource]
  t.same((await entries(await normalisedTar(source, 'none', {times: {epoch: 0}, excludes: []}))).map(e => e.mode), [0])
})

t.test('digestAndKeep hashes everything and keeps the bytes up to the limit', async t => {
  const chunks = [Buffer.from('abc'), Buffer.from('defg')]
  const whole = await digestStream(Readable.from(chunks))
  const kept = await digestAndKeep(Readable.from(chunks), 7)
  t.equal(kept.digest, whole)
  t.equal(kept.bytes?.toString(), 'abcdefg', 'all 7 bytes fit')
  const over = await digestAndKeep(Readable.from(chunks), 6)
  t.equal(over.digest, whole, 'the digest covers every byte past the limit too')
  t.equal(over.bytes, undefined, 'nothing kept past the limit')
})
