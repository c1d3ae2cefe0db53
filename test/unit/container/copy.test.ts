import t from 'tap'
import {mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {extract, pack} from 'tar-stream'
import {parseCopyLocation, resolveInRoot, rewriteTar, sourceTar} from '../../../src/container/copy.js'

/** A small container root: /etc/passwd, symlinks of every shape, and a directory. */
function makeRoot(): string {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'tspod-cp-')))
  const root = join(base, 'root')
  mkdirSync(join(root, 'etc'), {recursive: true})
  mkdirSync(join(root, 'tmp', 'dir'), {recursive: true})
  writeFileSync(join(root, 'etc', 'passwd'), 'container passwd\n')
  symlinkSync('/etc/passwd', join(root, 'tmp', 'abs'))
  symlinkSync('../../../../etc/passwd', join(root, 'tmp', 'rel'))
  symlinkSync('/etc', join(root, 'tmp', 'etclink'))
  symlinkSync('../..', join(root, 'tmp', 'up'))
  symlinkSync('loop2', join(root, 'tmp', 'loop1'))
  symlinkSync('loop1', join(root, 'tmp', 'loop2'))
  symlinkSync('/nonexistent/file', join(root, 'tmp', 'dangling'))
  t.teardown(() => import('node:fs').then(fs => fs.rmSync(base, {recursive: true, force: true})))
  return root
}

t.test('resolveInRoot keeps every path inside the root', async t => {
  const root = makeRoot()
  t.equal(resolveInRoot(root, '/etc/passwd'), `${root}/etc/passwd`)
  t.equal(resolveInRoot(root, 'etc/passwd'), `${root}/etc/passwd`, 'the leading slash is optional')
  t.equal(resolveInRoot(root, '/'), root)
  t.equal(resolveInRoot(root, ''), root)
  t.equal(resolveInRoot(root, '/../../..'), root, '.. stops at the root')
  t.equal(resolveInRoot(root, '/tmp/../../etc/./passwd'), `${root}/etc/passwd`)
  t.equal(resolveInRoot(root, '/tmp/abs'), `${root}/etc/passwd`, 'an absolute link starts over at the root')
  t.equal(resolveInRoot(root, '/tmp/rel'), `${root}/etc/passwd`, 'a relative link cannot climb above the root')
  t.equal(resolveInRoot(root, '/tmp/etclink/passwd'), `${root}/etc/passwd`, 'links in the middle are followed inside')
  t.equal(resolveInRoot(root, '/tmp/up/etc'), `${root}/etc`, 'a relative link to above the root stops at it')
  t.equal(resolveInRoot(root, '/tmp/dangling'), `${root}/nonexistent/file`, 'a dangling link resolves inside too')
  t.equal(resolveInRoot(root, '/tmp/abs', {followFinal: false}), `${root}/tmp/abs`, 'the last link is kept when asked')
  t.equal(resolveInRoot(root, '/tmp/etclink/passwd', {followFinal: false}), `${root}/etc/passwd`, 'only the last one')
  t.equal(resolveInRoot(root, '/missing/../etc'), `${root}/etc`, 'missing components are taken lexically')
  t.equal(readFileSync(resolveInRoot(root, '/tmp/rel'), 'utf8'), 'container passwd\n')
  t.throws(() => resolveInRoot(root, '/tmp/loop1'), /too many levels of symbolic links/)
})

t.test('parseCopyLocation tells containers from host paths as Podman does', async t => {
  t.same(parseCopyLocation('-'), {kind: 'stream'})
  t.same(parseCopyLocation('ctr:/etc/passwd'), {kind: 'container', container: 'ctr', path: '/etc/passwd'})
  t.same(parseCopyLocation('ctr:'), {kind: 'container', container: 'ctr', path: ''})
  t.same(parseCopyLocation('file.txt'), {kind: 'host', path: 'file.txt'})
  t.same(parseCopyLocation('./file:name.txt'), {kind: 'host', path: './file:name.txt'})
  t.same(parseCopyLocation('/path/to/file:name.txt'), {kind: 'host', path: '/path/to/file:name.txt'})
  t.same(parseCopyLocation(':x'), {kind: 'host', path: ':x'})
})

async function entries(tar: Readable): Promise<Array<{name: string; type: string; uid: number; body: string}>> {
  const out: Array<{name: string; type: string; uid: number; body: string}> = []
  const parser = extract()
  parser.on('entry', (header, body, next) => {
    const chunks: Buffer[] = []
    body.on('data', (c: Buffer) => chunks.push(c))
    body.on('end', () => {
      out.push({name: header.name, type: header.type ?? '', uid: header.uid ?? 0, body: Buffer.concat(chunks).toString()})
      next()
    })
  })
  await new Promise<void>((resolve, reject) => {
    parser.on('finish', resolve)
    parser.on('error', reject)
    tar.on('error', reject)
    tar.pipe(parser as never)
  })
  return out
}

t.test('sourceTar names the top entry and prefixes a directory', async t => {
  const root = makeRoot()
  writeFileSync(join(root, 'tmp', 'dir', 'f'), 'data')
  const file = await entries(await sourceTar(join(root, 'etc', 'passwd'), 'copy'))
  t.same(file.map(e => [e.name, e.type, e.body]), [['copy', 'file', 'container passwd\n']])
  const dir = await entries(await sourceTar(join(root, 'tmp', 'dir'), 'd'))
  t.same(dir.map(e => [e.name, e.type]), [['d', 'directory'], ['d/f', 'file']])
  const contents = await entries(await sourceTar(join(root, 'tmp', 'dir'), ''))
  t.same(contents.map(e => e.name), ['f'], 'no name: the contents only')
})

t.test('rewriteTar edits and drops entries, and fails with the error thrown', async t => {
  const source = pack()
  source.entry({name: 'a', uid: 5}, 'A')
  source.entry({name: 'b', uid: 5}, 'B')
  source.finalize()
  const out = await entries(rewriteTar(source as unknown as Readable, h => (h.name === 'b' ? null : {...h, name: `x/${h.name}`, uid: 0})))
  t.same(out.map(e => [e.name, e.uid, e.body]), [['x/a', 0, 'A']])
  const failing = pack()
  failing.entry({name: 'a'}, 'A')
  failing.finalize()
  await t.rejects(entries(rewriteTar(failing as unknown as Readable, () => {
    throw new Error('refused')
  })), /refused/)
})
