import t from 'tap'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {
  chmodSync,
  chownSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {extract as createExtract, type Header} from 'tar-stream'
import {extractLayer, packDirectory, type PackOptions} from '../../../src/storage/layer-tar.js'

const hasAttr = spawnSync('getfattr', ['--version']).status === 0
const attrSkip = hasAttr ? false : 'setfattr/getfattr not installed (apt-get install attr)'
const isRoot = process.getuid?.() === 0
const rootSkip = isRoot ? false : 'needs root'

function tempDir(t: {teardown(fn: () => void): void}, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tspod-pack-${label}-`))
  t.teardown(() => {
    // Read-only directories inside would stop an unprivileged rm.
    spawnSync('chmod', ['-R', 'u+rwx', dir])
    spawnSync('rm', ['-rf', dir])
  })
  return dir
}

async function packToBuffer(dir: string, options: PackOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of packDirectory(dir, options)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function listEntries(tar: Buffer): Promise<Array<Header & {pax?: Record<string, string>}>> {
  const extract = createExtract()
  const headers: Array<Header & {pax?: Record<string, string>}> = []
  extract.on('entry', (header, body, next) => {
    headers.push(header as Header & {pax?: Record<string, string>})
    body.on('end', () => next())
    body.resume()
  })
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', () => resolve())
    extract.on('error', reject)
  })
  extract.end(tar)
  await done
  return headers
}

function setXattr(path: string, name: string, value: string): void {
  const result = spawnSync('setfattr', ['-h', '-n', name, '-v', value, path])
  if (result.status !== 0) throw new Error(`setfattr: ${result.stderr}`)
}

function getXattr(path: string, name: string): string | undefined {
  const result = spawnSync('getfattr', ['-h', '--only-values', '-n', name, path], {encoding: 'utf8'})
  return result.status === 0 ? result.stdout : undefined
}

/** Everything a layer is meant to preserve, per path, for comparing two trees. */
function describeTree(root: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const inodes = new Map<number, string>()
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const childRel = rel ? `${rel}/${name}` : name
      const abs = join(root, childRel)
      const st = lstatSync(abs)
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other'
      const desc: Record<string, unknown> = {type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtimeMs}
      if (type === 'file') {
        desc.size = st.size
        desc.sha = createHash('sha256').update(readFileSync(abs)).digest('hex')
      }
      if (type === 'symlink') {
        desc.target = readlinkSync(abs)
        delete desc.mode
      }
      if (type === 'char' || type === 'block') desc.rdev = st.rdev
      if (type !== 'dir' && st.nlink > 1) {
        const first = inodes.get(st.ino)
        if (first === undefined) inodes.set(st.ino, childRel)
        else desc.linkedTo = first
      }
      out[childRel] = desc
      if (type === 'dir') walk(childRel)
    }
  }
  walk('')
  return out
}

/** Give every path an mtime, children before their directory so the directory's sticks. */
function stampTree(root: string, rel = ''): void {
  for (const name of readdirSync(join(root, rel))) {
    const childRel = rel ? `${rel}/${name}` : name
    if (lstatSync(join(root, childRel)).isDirectory()) stampTree(root, childRel)
    const seconds = 1_500_000_000 + childRel.length * 1000
    lutimesSync(join(root, childRel), seconds, seconds)
  }
}

function buildSampleTree(root: string): void {
  mkdirSync(join(root, 'bin'))
  writeFileSync(join(root, 'bin/tool'), 'tool body\n')
  chmodSync(join(root, 'bin/tool'), 0o4755)
  linkSync(join(root, 'bin/tool'), join(root, 'bin/tool-again'))
  writeFileSync(join(root, 'bin/empty'), '')
  symlinkSync('/etc/passwd', join(root, 'bin/abs'))
  symlinkSync('tool', join(root, 'bin/rel'))
  symlinkSync('nowhere/at/all', join(root, 'bin/dangling'))
  mkdirSync(join(root, 'ro/inner'), {recursive: true})
  writeFileSync(join(root, 'ro/inner/file'), 'in a read-only tree')
  chmodSync(join(root, 'ro'), 0o555)
  mkdirSync(join(root, 'tmp'))
  chmodSync(join(root, 'tmp'), 0o1777)
  const long = join(root, `${'n'.repeat(90)}/${'m'.repeat(90)}`)
  mkdirSync(long, {recursive: true})
  writeFileSync(join(long, 'über-long-ünïcode-name'), 'long')
  writeFileSync(join(root, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a))
  spawnSync('mkfifo', [join(root, 'fifo')])
  if (isRoot) {
    chownSync(join(root, 'bin/tool'), 1000, 1001)
    chmodSync(join(root, 'bin/tool'), 0o4755)
    lchownSync(join(root, 'bin/abs'), 7, 8)
    writeFileSync(join(root, 'high-ids'), 'x')
    chownSync(join(root, 'high-ids'), 300000, 300001)
    mkdirSync(join(root, 'dev'))
    spawnSync('mknod', [join(root, 'dev/null'), 'c', '1', '3'])
    spawnSync('mknod', [join(root, 'dev/loop0'), 'b', '7', '0'])
  }
  if (hasAttr) setXattr(join(root, 'bin/tool'), 'user.origin', 'sample')
  stampTree(root)
}

t.test('pack then extract gives the same tree', async t => {
  const base = tempDir(t, 'roundtrip')
  const source = join(base, 'source')
  mkdirSync(source)
  buildSampleTree(source)
  const tar = await packToBuffer(source)
  const copy = join(base, 'copy')
  await extractLayer(Readable.from([tar]), copy, {rootless: false})
  const tree = describeTree(source)
  t.ok(Object.keys(tree).length >= (isRoot ? 20 : 16), 'the sample tree is not trivially small')
  t.same(describeTree(copy), tree)
  if (hasAttr) t.equal(getXattr(join(copy, 'bin/tool'), 'user.origin'), 'sample')
})

t.test('packing is deterministic and ordered', async t => {
  const base = tempDir(t, 'determinism')
  const source = join(base, 'source')
  mkdirSync(source)
  buildSampleTree(source)
  const first = await packToBuffer(source)
  const second = await packToBuffer(source)
  t.ok(first.equals(second), 'two packs are byte-identical')

  const entries = await listEntries(first)
  const names = entries.map(e => e.name.replace(/\/$/, ''))
  t.ok(names.indexOf('bin') < names.indexOf('bin/tool'), 'directories come before their contents')
  t.same(
    names.filter(n => n.startsWith('bin/')),
    ['bin/abs', 'bin/dangling', 'bin/empty', 'bin/rel', 'bin/tool', 'bin/tool-again'],
    'siblings in byte order',
  )
  const again = entries.find(e => e.name === 'bin/tool-again')
  t.match(again, {type: 'link', linkname: 'bin/tool'}, 'a second path to an inode is a hard link')
  t.notOk(
    entries.some(e => e.uname || e.gname),
    'no user or group names',
  )
  if (isRoot) {
    t.match(entries.find(e => e.name === 'high-ids')?.pax, {uid: '300000', gid: '300001'}, 'ids beyond ustar go to PAX')
    t.notOk(entries.find(e => e.name === 'bin/empty')?.pax, 'no PAX header where ustar suffices')
  }
})

t.test('sourceDateEpoch clamps mtimes', async t => {
  const source = tempDir(t, 'epoch')
  writeFileSync(join(source, 'old'), 'old')
  writeFileSync(join(source, 'new'), 'new')
  lutimesSync(join(source, 'old'), 1_000_000_000, 1_000_000_000)
  lutimesSync(join(source, 'new'), 1_900_000_000, 1_900_000_000)
  const entries = await listEntries(await packToBuffer(source, {sourceDateEpoch: 1_600_000_000}))
  t.equal(entries.find(e => e.name === 'old')?.mtime.getTime(), 1_000_000_000_000, 'older mtimes are kept')
  t.equal(entries.find(e => e.name === 'new')?.mtime.getTime(), 1_600_000_000_000, 'newer ones are clamped')
})

t.test('overlay whiteouts and opaque directories become OCI markers', {skip: rootSkip || attrSkip}, async t => {
  const base = tempDir(t, 'whiteouts')
  const upper = join(base, 'upper')
  mkdirSync(join(upper, 'etc'), {recursive: true})
  mkdirSync(join(upper, 'lib'))
  mkdirSync(join(upper, 'var'))
  spawnSync('mknod', [join(upper, 'etc/gone'), 'c', '0', '0'])
  writeFileSync(join(upper, 'etc/-dash'), 'sorts before .wh. in byte order')
  writeFileSync(join(upper, 'lib/new'), 'new')
  setXattr(join(upper, 'lib'), 'trusted.overlay.opaque', 'y')
  setXattr(join(upper, 'var'), 'user.overlay.opaque', 'y')
  writeFileSync(join(upper, 'var/keep'), 'keep')
  setXattr(join(upper, 'var/keep'), 'user.note', 'carried')

  const tar = await packToBuffer(upper)
  const names = (await listEntries(tar)).map(e => e.name.replace(/\/$/, ''))
  t.same(names, ['etc', 'etc/.wh.gone', 'etc/-dash', 'lib', 'lib/.wh..wh..opq', 'lib/new', 'var', 'var/.wh..wh..opq', 'var/keep'])

  const lower = join(base, 'merged')
  mkdirSync(join(lower, 'etc'), {recursive: true})
  writeFileSync(join(lower, 'etc/gone'), 'lower file')
  mkdirSync(join(lower, 'lib/old'), {recursive: true})
  await extractLayer(Readable.from([tar]), lower, {rootless: false, whiteoutMode: 'delete'})
  t.same(readdirSync(join(lower, 'etc')).sort(), ['-dash'])
  t.same(readdirSync(join(lower, 'lib')), ['new'])
  t.equal(getXattr(join(lower, 'var/keep'), 'user.note'), 'carried', 'user xattrs travel in PAX records')

  const again = join(base, 'again')
  await extractLayer(Readable.from([tar]), again, {rootless: false})
  t.ok(lstatSync(join(again, 'etc/gone')).isCharacterDevice(), 'overlay mode turns the marker back into a whiteout')
  t.equal(getXattr(join(again, 'lib'), 'trusted.overlay.opaque'), 'y')
})

t.test('without getfattr the tar is still written, with a warning', async t => {
  const source = tempDir(t, 'nogetfattr')
  writeFileSync(join(source, 'f'), 'f')
  const path = process.env.PATH
  process.env.PATH = '/nonexistent'
  t.teardown(() => {
    process.env.PATH = path
  })
  const warnings: string[] = []
  const entries = await listEntries(await packToBuffer(source, {onWarning: msg => warnings.push(msg)}))
  t.same(
    entries.map(e => e.name),
    ['f'],
  )
  t.same(warnings, ['extended attributes and opaque directories not recorded: getfattr not found (apt-get install attr)'])
})

t.test('packing something that is not a directory fails', async t => {
  const base = tempDir(t, 'notdir')
  writeFileSync(join(base, 'file'), 'x')
  await t.rejects(packToBuffer(join(base, 'file'), {xattrs: false}), {name: 'StorageError', message: /not a directory$/})
  await t.rejects(packToBuffer(join(base, 'missing'), {xattrs: false}), {name: 'StorageError', message: /ENOENT/})
})
