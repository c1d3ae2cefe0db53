import t from 'tap'
import {spawnSync} from 'node:child_process'
import {lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Readable} from 'node:stream'
import {pack as createPack, type Header} from 'tar-stream'
import {StorageError} from '../../../src/errors/index.js'
import {extractLayer, type ExtractOptions} from '../../../src/storage/layer-tar.js'
import {normalizeEntryPath} from '../../../src/storage/tar-extract.js'

type Entry = Partial<Omit<Header, 'pax'>> & {name: string; body?: string | Buffer; pax?: Record<string, string>}

const hasAttr = spawnSync('setfattr', ['--version']).status === 0
const attrSkip = hasAttr ? false : 'setfattr/getfattr not installed (apt-get install attr)'
const isRoot = process.getuid?.() === 0
const rootSkip = isRoot ? false : 'needs root (tspod extracts as root inside its user namespace)'
const tsLoader = process.execArgv.find(arg => arg.includes('@tapjs/typescript'))
const unshareSkip =
  tsLoader !== undefined && spawnSync('unshare', ['--user', '--map-root-user', 'true']).status === 0 ? false : 'cannot create a user namespace here'

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = createPack()
  const chunks: Buffer[] = []
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
  const ended = new Promise<void>(resolve => pack.on('end', () => resolve()))
  for (const {body, ...fields} of entries) {
    // Unprivileged runs can only give files their own ids.
    const header = {uid: process.getuid?.(), gid: process.getgid?.(), mtime: new Date(1_600_000_000_000), ...fields} as Header
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (body === undefined) pack.entry(header, done)
      else pack.entry(header, body, done)
    })
  }
  pack.finalize()
  await ended
  return Buffer.concat(chunks)
}

function tempDir(t: {teardown(fn: () => void): void}, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tspod-extract-${label}-`))
  t.teardown(() => {
    // Read-only directories inside would stop an unprivileged rm.
    spawnSync('chmod', ['-R', 'u+rwx', dir])
    spawnSync('rm', ['-rf', dir])
  })
  return dir
}

async function extract(entries: Entry[], target: string, options: Partial<ExtractOptions> = {}) {
  return extractLayer(Readable.from([await tarOf(entries)]), target, {rootless: false, ...options})
}

function getXattr(path: string, name: string): string | undefined {
  const result = spawnSync('getfattr', ['-h', '--only-values', '-n', name, path], {encoding: 'buffer'})
  return result.status === 0 ? result.stdout.toString('hex') : undefined
}

t.test('normalizeEntryPath makes names relative and refuses escapes', async t => {
  t.equal(normalizeEntryPath('./etc/passwd'), 'etc/passwd')
  t.equal(normalizeEntryPath('/etc/passwd'), 'etc/passwd')
  t.equal(normalizeEntryPath('etc//x/./y/'), 'etc/x/y')
  t.equal(normalizeEntryPath('./'), '')
  t.equal(normalizeEntryPath('a/../b'), 'b')
  t.equal(normalizeEntryPath('/../x'), 'x')
  t.equal(normalizeEntryPath('../x'), null)
  t.equal(normalizeEntryPath('a/../../x'), null)
  t.equal(normalizeEntryPath('..'), null)
})

t.test('regular files, directories, symlinks and hard links with their metadata', {skip: rootSkip}, async t => {
  const dir = tempDir(t, 'basic')
  const mtime = new Date(1_500_000_000_000)
  const report = await extract(
    [
      {name: './', type: 'directory', mode: 0o755},
      {name: 'bin/', type: 'directory', mode: 0o755, mtime},
      {name: 'bin/tool', body: 'hello tool\n', mode: 0o4755, uid: 1000, gid: 1001, mtime},
      {name: 'bin/plain', body: 'x', mode: 0o640, uid: 0, gid: 0},
      {name: 'bin/hard', type: 'link', linkname: 'bin/tool'},
      {name: 'bin/abs', type: 'symlink', linkname: '/etc/passwd', uid: 7, gid: 8, mtime},
      {name: 'bin/rel', type: 'symlink', linkname: '../bin/tool'},
      {name: 'bin/dangling', type: 'symlink', linkname: 'no/such/file'},
      {name: 'ro/', type: 'directory', mode: 0o555, mtime},
      {name: 'ro/child', body: 'inside a read-only dir'},
      {name: 'ro/sub/', type: 'directory', mode: 0o1777},
      {name: 'implicit/parent/file', body: 'made my parents'},
      {name: 'empty', body: '', mode: 0o600},
    ],
    dir,
  )
  t.same(report, {size: 11 + 1 + 22 + 15, entries: 13, skippedDevices: [], whiteouts: 0})

  const tool = statSync(join(dir, 'bin/tool'))
  t.equal(readFileSync(join(dir, 'bin/tool'), 'utf8'), 'hello tool\n')
  t.equal(tool.mode & 0o7777, 0o4755, 'setuid survives the chown')
  t.equal(tool.uid, 1000)
  t.equal(tool.gid, 1001)
  t.equal(tool.mtimeMs, mtime.getTime())
  t.equal(tool.atimeMs, mtime.getTime(), 'atime is set to mtime')
  t.equal(tool.nlink, 2)
  t.equal(statSync(join(dir, 'bin/hard')).ino, tool.ino)
  t.equal(statSync(join(dir, 'bin/plain')).mode & 0o7777, 0o640)

  t.equal(readlinkSync(join(dir, 'bin/abs')), '/etc/passwd', 'absolute targets are kept as-is')
  const abs = lstatSync(join(dir, 'bin/abs'))
  t.equal(abs.uid, 7)
  t.equal(abs.gid, 8)
  t.equal(abs.mtimeMs, mtime.getTime(), 'symlink mtime is set without following it')
  t.equal(readlinkSync(join(dir, 'bin/rel')), '../bin/tool')
  t.equal(readlinkSync(join(dir, 'bin/dangling')), 'no/such/file')

  const ro = statSync(join(dir, 'ro'))
  t.equal(ro.mode & 0o7777, 0o555)
  t.equal(ro.mtimeMs, mtime.getTime(), 'directory mtime is set after its children')
  t.equal(readFileSync(join(dir, 'ro/child'), 'utf8'), 'inside a read-only dir')
  t.equal(statSync(join(dir, 'ro/sub')).mode & 0o7777, 0o1777)
  t.equal(statSync(join(dir, 'bin')).mtimeMs, mtime.getTime())

  const implicit = statSync(join(dir, 'implicit'))
  t.ok(implicit.isDirectory())
  t.equal(implicit.mode & 0o7777, 0o755)
  t.equal(implicit.uid, 0)
  t.equal(statSync(join(dir, 'empty')).size, 0)
})

t.test('absolute entry names land inside the target', {skip: rootSkip}, async t => {
  const dir = tempDir(t, 'absolute')
  await extract([{name: '/etc/tspod-absolute-test', body: 'inside'}], dir)
  t.equal(readFileSync(join(dir, 'etc/tspod-absolute-test'), 'utf8'), 'inside')
})

t.test('entries escaping with .. are refused', async t => {
  const base = tempDir(t, 'dotdot')
  const dir = join(base, 'root')
  for (const name of ['../evil', 'a/../../evil']) {
    await t.rejects(extract([{name, body: 'x'}], dir), {
      name: 'StorageError',
      message: `extracting layer entry "${name}": path escapes the target directory`,
    })
  }
  t.same(readdirSync(base), ['root'], 'nothing was written beside the target')
})

t.test('a symlinked parent is never followed', async t => {
  const base = tempDir(t, 'symparent')
  const outside = join(base, 'outside')
  mkdirSync(outside)
  const dir = join(base, 'root')
  await t.rejects(
    extract(
      [
        {name: 'a', type: 'symlink', linkname: outside},
        {name: 'a/x', body: 'escaped'},
      ],
      dir,
    ),
    {name: 'StorageError', message: /^extracting layer entry "a\/x": parent "a" is a symbolic link/},
  )
  t.same(readdirSync(outside), [], 'nothing was written through the symlink')

  await t.rejects(
    extract(
      [
        {name: 'up', type: 'symlink', linkname: '../outside'},
        {name: 'up/deeper/y', body: 'escaped'},
      ],
      join(base, 'root2'),
    ),
    {message: /"up\/deeper\/y": parent "up" is a symbolic link/},
  )
  t.same(readdirSync(outside), [])
})

t.test('a directory replaced by a symlink is not written through', async t => {
  const base = tempDir(t, 'dirtosym')
  const outside = join(base, 'outside')
  mkdirSync(outside)
  await t.rejects(
    extract(
      [
        {name: 'a/', type: 'directory'},
        {name: 'a/f', body: 'inside'},
        {name: 'a', type: 'symlink', linkname: outside},
        {name: 'a/x', body: 'escaped'},
      ],
      join(base, 'root'),
    ),
    {message: /^extracting layer entry "a\/x": parent "a" is a symbolic link/},
  )
  t.same(readdirSync(outside), [])
})

t.test('the root of the layer can only be a directory', async t => {
  const base = tempDir(t, 'rootentry')
  const dir = join(base, 'root')
  mkdirSync(dir)
  writeFileSync(join(dir, 'keep'), 'keep')
  for (const entry of [
    {name: './', body: 'not a dir'},
    {name: '.', type: 'symlink', linkname: '/'},
    {name: '/', type: 'link', linkname: 'keep'},
  ] as Entry[]) {
    await t.rejects(extract([entry], dir), {message: `extracting layer entry "${entry.name}": the root of the layer must be a directory`})
  }
  t.same(readdirSync(dir), ['keep'], 'the target survives')
  await extract([{name: './', type: 'directory', mode: 0o711, mtime: new Date(1_300_000_000_000)}], dir)
  t.equal(statSync(dir).mode & 0o7777, 0o711, 'a root entry sets the metadata of the target')
  t.equal(statSync(dir).mtimeMs, 1_300_000_000_000)
})

t.test('a tar without its end-of-archive blocks still completes', async t => {
  const dir = tempDir(t, 'notrailer')
  const tar = await tarOf([
    {name: 'a', body: 'a'},
    {name: 'b', type: 'link', linkname: 'a'},
  ])
  const report = await extractLayer(Readable.from([tar.subarray(0, tar.length - 1024)]), dir, {rootless: true})
  t.equal(report.entries, 2)
  t.equal(statSync(join(dir, 'b')).nlink, 2)
})

t.test('a symlink left by an earlier layer is not followed either', async t => {
  const base = tempDir(t, 'symlower')
  const outside = join(base, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'file'), 'precious')
  const dir = join(base, 'root')
  mkdirSync(dir)
  symlinkSync(outside, join(dir, 'link'))
  symlinkSync(join(outside, 'file'), join(dir, 'filelink'))
  await t.rejects(extract([{name: 'link/file', body: 'overwritten'}], dir), {message: /parent "link" is a symbolic link/})
  await extract([{name: 'filelink', body: 'replaces the symlink'}], dir)
  t.equal(readFileSync(join(outside, 'file'), 'utf8'), 'precious', 'the symlink target is untouched')
  t.ok(lstatSync(join(dir, 'filelink')).isFile(), 'the symlink itself was replaced')
  t.equal(readFileSync(join(dir, 'filelink'), 'utf8'), 'replaces the symlink')
})

t.test('hard links must stay inside the target', async t => {
  const base = tempDir(t, 'hardlink')
  const outside = join(base, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'secret'), 'secret')

  await t.rejects(extract([{name: 'l', type: 'link', linkname: '../outside/secret'}], join(base, 'r1')), {
    message: 'extracting layer entry "l": hard link target "../outside/secret" escapes the target directory',
  })
  await t.rejects(extract([{name: 'l', type: 'link', linkname: join(outside, 'secret')}], join(base, 'r2')), {
    message: /^extracting layer entry "l": hard link target ".*" does not exist$/,
  })
  await t.rejects(
    extract(
      [
        {name: 's', type: 'symlink', linkname: outside},
        {name: 'l', type: 'link', linkname: 's/secret'},
      ],
      join(base, 'r3'),
    ),
    {message: /^extracting layer entry "l": parent "s" is a symbolic link/},
  )
  t.equal(statSync(join(outside, 'secret')).nlink, 1, 'no link to the outside file was made')

  await t.rejects(extract([{name: 'l', type: 'link', linkname: 'missing'}], join(base, 'r4')), {
    message: 'extracting layer entry "l": hard link target "missing" does not exist',
  })
})

t.test('a hard link to a symlink links the symlink itself', async t => {
  const dir = tempDir(t, 'linksym')
  await extract(
    [
      {name: 'sym', type: 'symlink', linkname: '/etc/passwd'},
      {name: 'hl', type: 'link', linkname: 'sym'},
    ],
    dir,
  )
  const hl = lstatSync(join(dir, 'hl'))
  t.ok(hl.isSymbolicLink())
  t.equal(hl.ino, lstatSync(join(dir, 'sym')).ino)
})

t.test('entries replace what is there, directories merge', async t => {
  const dir = tempDir(t, 'replace')
  await extract(
    [
      {name: 'p', body: 'a file'},
      {name: 'q/', type: 'directory'},
      {name: 'q/child', body: 'child'},
      {name: 'm/', type: 'directory', mode: 0o700},
      {name: 'm/lower', body: 'lower'},
    ],
    dir,
  )
  await extract(
    [
      {name: 'p/', type: 'directory'},
      {name: 'p/inner', body: 'inner'},
      {name: 'q', body: 'now a file'},
      {name: 'm/', type: 'directory', mode: 0o751},
      {name: 'm/upper', body: 'upper'},
    ],
    dir,
  )
  t.equal(readFileSync(join(dir, 'p/inner'), 'utf8'), 'inner', 'file replaced by a directory')
  t.equal(readFileSync(join(dir, 'q'), 'utf8'), 'now a file', 'directory replaced by a file')
  t.same(readdirSync(join(dir, 'm')).sort(), ['lower', 'upper'], 'directory over directory keeps the contents')
  t.equal(statSync(join(dir, 'm')).mode & 0o7777, 0o751, 'and takes the new metadata')

  await extract(
    [
      {name: 'dup', body: 'first'},
      {name: 'dup', body: 'second'},
    ],
    dir,
  )
  t.equal(readFileSync(join(dir, 'dup'), 'utf8'), 'second', 'a later entry of the same layer wins')
})

t.test('whiteouts in delete mode', {skip: rootSkip}, async t => {
  const dir = tempDir(t, 'delete')
  await extract(
    [
      {name: 'a/1', body: '1'},
      {name: 'a/2', body: '2'},
      {name: 'd/x', body: 'x'},
      {name: 'o/old', body: 'old'},
      {name: 'o/sub/deep', body: 'deep'},
    ],
    dir,
    {whiteoutMode: 'delete'},
  )
  const report = await extract(
    [
      {name: 'a/.wh.1', body: ''},
      {name: '.wh.d', body: ''},
      {name: 'a/3', body: 'same layer'},
      {name: 'a/.wh.3', body: ''},
      {name: 'a/.wh.never-existed', body: ''},
      {name: 'o/', type: 'directory'},
      {name: 'o/new', body: 'new'},
      {name: 'o/sub/', type: 'directory'},
      {name: 'o/sub/fresh', body: 'fresh'},
      {name: 'o/.wh..wh..opq', body: ''},
      {name: 'o/later', body: 'later'},
    ],
    dir,
    {whiteoutMode: 'delete'},
  )
  t.equal(report.whiteouts, 5)
  t.equal(report.entries, 6, 'whiteouts are not counted as entries')
  t.same(readdirSync(join(dir, 'a')).sort(), ['2', '3'], 'a whiteout hides lower files, never its own layer')
  t.notOk(readdirSync(dir).includes('d'), 'a whiteout removes a whole directory')
  t.same(readdirSync(join(dir, 'o')).sort(), ['later', 'new', 'sub'])
  t.same(readdirSync(join(dir, 'o/sub')), ['fresh'], 'the opaque marker empties lower content below it too')
  t.notOk(readdirSync(dir).some(name => name.startsWith('.wh.')), 'no marker is left behind')
})

t.test('whiteouts in overlay mode are char 0:0 nodes', {skip: rootSkip}, async t => {
  const dir = tempDir(t, 'overlay')
  const report = await extract(
    [
      {name: 'etc/', type: 'directory'},
      {name: 'etc/.wh.gone', body: ''},
      {name: 'etc/kept', body: 'kept'},
      {name: 'etc/.wh.kept', body: ''},
      {name: 'back/.wh.again', body: ''},
      {name: 'back/again/', type: 'directory'},
      {name: 'redo/.wh.d', body: ''},
      {name: 'redo/d/file', body: 'recreated below a whiteout'},
    ],
    dir,
  )
  t.equal(report.whiteouts, 4)
  const gone = lstatSync(join(dir, 'etc/gone'))
  t.ok(gone.isCharacterDevice(), 'whiteout is a character device')
  t.equal(gone.rdev, 0, 'numbered 0:0')
  t.ok(lstatSync(join(dir, 'etc/kept')).isFile(), 'a whiteout never hides its own layer')
  t.ok(lstatSync(join(dir, 'back/again')).isDirectory(), 'a later entry replaces the whiteout')
  t.ok(lstatSync(join(dir, 'redo/d')).isDirectory(), 'so does a later implicit parent')
})

t.test('opaque directories in overlay mode', {skip: rootSkip || attrSkip}, async t => {
  const dir = tempDir(t, 'opaque')
  const report = await extract(
    [
      {name: 'lib/.wh..wh..opq', body: ''},
      {name: 'lib/new', body: 'new'},
    ],
    dir,
    {overlayXattrNamespace: 'user'},
  )
  t.equal(report.whiteouts, 1)
  t.equal(getXattr(join(dir, 'lib'), 'user.overlay.opaque'), Buffer.from('y').toString('hex'))
  t.equal(getXattr(join(dir, 'lib'), 'trusted.overlay.opaque'), undefined)
  t.equal(readFileSync(join(dir, 'lib/new'), 'utf8'), 'new')
})

t.test('opaque directories get the trusted xattr as real root', {skip: rootSkip || attrSkip}, async t => {
  const dir = tempDir(t, 'trusted')
  await extract([{name: 'lib/.wh..wh..opq', body: ''}], dir)
  t.equal(getXattr(join(dir, 'lib'), 'trusted.overlay.opaque'), Buffer.from('y').toString('hex'))
})

t.test('a missing setfattr is named with its package', {skip: rootSkip}, async t => {
  const dir = tempDir(t, 'nosetfattr')
  const tar = await tarOf([{name: 'lib/.wh..wh..opq', body: ''}])
  const path = process.env.PATH
  process.env.PATH = '/nonexistent'
  t.teardown(() => {
    process.env.PATH = path
  })
  await t.rejects(extractLayer(Readable.from([tar]), dir, {rootless: true}), {
    name: 'StorageError',
    message: 'marking opaque directories: setfattr not found',
    hint: 'apt-get install attr',
  })
})

t.test('invalid whiteout names are refused', async t => {
  const dir = tempDir(t, 'badwh')
  await t.rejects(extract([{name: 'a/.wh..', body: ''}], dir, {whiteoutMode: 'delete'}), {
    message: 'extracting layer entry "a/.wh..": invalid whiteout name',
  })
})

t.test('devices are skipped rootless and created as root; FIFOs always', {skip: rootSkip}, async t => {
  const entries: Entry[] = [
    {name: 'dev/', type: 'directory'},
    {name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666},
    {name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, gid: 6},
    {name: 'run/fifo', type: 'fifo', mode: 0o620, uid: 5, gid: 6, mtime: new Date(1_400_000_000_000)},
  ]
  const rootless = tempDir(t, 'rootless')
  const report = await extract(entries, rootless, {rootless: true})
  t.same(report.skippedDevices, ['dev/null', 'dev/loop0'])
  t.equal(report.entries, 2)
  t.same(readdirSync(join(rootless, 'dev')), [])
  const fifo = lstatSync(join(rootless, 'run/fifo'))
  t.ok(fifo.isFIFO())
  t.equal(fifo.mode & 0o7777, 0o620)
  t.equal(fifo.uid, 5)
  t.equal(fifo.mtimeMs, 1_400_000_000_000)

  if (!isRoot) return
  const root = tempDir(t, 'devroot')
  const rootReport = await extract(entries, root)
  t.same(rootReport.skippedDevices, [])
  const nul = lstatSync(join(root, 'dev/null'))
  t.ok(nul.isCharacterDevice())
  t.equal(nul.rdev, (1 << 8) | 3)
  t.equal(nul.mode & 0o7777, 0o666)
  const loop = lstatSync(join(root, 'dev/loop0'))
  t.ok(loop.isBlockDevice())
  t.equal(loop.gid, 6)
})

t.test('a hard link to a FIFO of the same layer', async t => {
  const dir = tempDir(t, 'fifolink')
  await extract(
    [
      {name: 'f', type: 'fifo'},
      {name: 'g', type: 'link', linkname: 'f'},
    ],
    dir,
    {rootless: true},
  )
  t.equal(lstatSync(join(dir, 'g')).ino, lstatSync(join(dir, 'f')).ino)
})

t.test('xattrs from PAX headers', {skip: attrSkip || rootSkip}, async t => {
  const dir = tempDir(t, 'xattr')
  // cap_setuid=ep as a VFS_CAP_REVISION_2 blob: binary, not valid UTF-8.
  const capability = Buffer.from('0100000280000000000000000000000000000000', 'hex')
  const placeholder = 'C'.repeat(capability.length)
  const tar = await tarOf([
    {name: 'bin/', type: 'directory', pax: {'SCHILY.xattr.user.dir': 'on a dir'}},
    {
      name: 'bin/ping',
      body: 'binary',
      mode: 0o755,
      pax: {
        'SCHILY.xattr.user.comment': 'hello',
        'SCHILY.xattr.security.capability': placeholder,
        'SCHILY.xattr.trusted.ignored': 'x',
        'SCHILY.xattr.user.overlay.redirect': '/elsewhere',
      },
    },
  ])
  // PAX bodies carry no checksum: patch the binary value in place of its placeholder.
  const at = tar.indexOf(`security.capability=${placeholder}`) + 'security.capability='.length
  capability.copy(tar, at)
  const warnings: string[] = []
  await extractLayer(Readable.from([tar]), dir, {rootless: false, onWarning: msg => warnings.push(msg)})
  t.same(warnings, [])
  t.equal(getXattr(join(dir, 'bin/ping'), 'user.comment'), Buffer.from('hello').toString('hex'))
  t.equal(getXattr(join(dir, 'bin/ping'), 'security.capability'), capability.toString('hex'), 'binary value kept byte for byte')
  t.equal(getXattr(join(dir, 'bin/ping'), 'trusted.ignored'), undefined)
  t.equal(getXattr(join(dir, 'bin/ping'), 'user.overlay.redirect'), undefined, 'overlay metadata is never taken from a layer')
  t.equal(getXattr(join(dir, 'bin'), 'user.dir'), Buffer.from('on a dir').toString('hex'))
})

t.test('long names and large ids come from PAX records', {skip: rootSkip}, async t => {
  const dir = tempDir(t, 'pax')
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`
  await extract([{name: long, body: 'deep', pax: {uid: '300000', gid: '300001'}}], dir)
  const stats = statSync(join(dir, long))
  t.equal(stats.uid, 300000)
  t.equal(stats.gid, 300001)
})

t.test('large files stream through', async t => {
  const dir = tempDir(t, 'large')
  const big = Buffer.alloc(5 * 1024 * 1024 + 123)
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251
  const report = await extract([{name: 'big.bin', body: big}], dir)
  t.equal(report.size, big.length)
  t.ok(readFileSync(join(dir, 'big.bin')).equals(big))
})

t.test('broken input is an error, not a partial success', async t => {
  const dir = tempDir(t, 'broken')
  await t.rejects(extractLayer(Readable.from([Buffer.alloc(1024, 0x41)]), dir, {rootless: true}), {
    name: 'StorageError',
    message: /^reading layer tar: /,
  })
  const tar = await tarOf([{name: 'f', body: Buffer.alloc(10_000, 1)}])
  await t.rejects(extractLayer(Readable.from([tar.subarray(0, 4096)]), dir, {rootless: true}), {
    name: 'StorageError',
    message: /^reading layer tar: /,
  })
  const failing = new Readable({
    read() {
      this.destroy(new StorageError('decompressing zstd stream: zstd: corrupted block'))
    },
  })
  await t.rejects(extractLayer(failing, dir, {rootless: true}), {message: 'decompressing zstd stream: zstd: corrupted block'})
})

t.test('inside a user namespace, as tspod runs it', {skip: unshareSkip}, async t => {
  const base = tempDir(t, 'userns')
  const script = join(base, 'child.mjs')
  writeFileSync(
    script,
    `const {extractLayer} = await import(process.argv[2])
const {createReadStream} = await import('node:fs')
try {
  const report = await extractLayer(createReadStream(process.argv[3]), process.argv[4], {rootless: true})
  console.log(JSON.stringify(report))
} catch (err) {
  console.log(JSON.stringify({name: err.name, message: err.message, hint: err.hint}))
}
`,
  )
  const module = fileURLToPath(new URL('../../../src/storage/layer-tar.ts', import.meta.url))
  const run = async (entries: Entry[], label: string): Promise<{target: string; result: Record<string, unknown>}> => {
    const tarPath = join(base, `${label}.tar`)
    writeFileSync(tarPath, await tarOf(entries))
    const target = join(base, label)
    const child = spawnSync('unshare', ['--user', '--map-root-user', process.execPath, tsLoader as string, script, module, tarPath, target], {encoding: 'utf8'})
    t.equal(child.status, 0, child.stderr)
    return {target, result: JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>}
  }

  const ok = await run(
    [
      {name: 'etc/.wh.gone', body: ''},
      {name: 'etc/file', body: 'mine', uid: 0, gid: 0},
      {name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, uid: 0, gid: 0},
      {name: 'run/pipe', type: 'fifo', uid: 0, gid: 0},
    ],
    'mapped',
  )
  t.same(ok.result, {size: 4, entries: 2, skippedDevices: ['dev/null'], whiteouts: 1})
  t.ok(lstatSync(join(ok.target, 'etc/gone')).isCharacterDevice(), 'whiteouts can be made rootless')
  t.ok(lstatSync(join(ok.target, 'run/pipe')).isFIFO())

  const unmapped = await run([{name: 'home/user/file', body: 'x', uid: 1000, gid: 1000}], 'unmapped')
  t.same(unmapped.result, {
    name: 'StorageError',
    message: 'extracting layer entry "home/user/file": uid 1000 or gid 1000 is not mapped in the user namespace',
    hint: 'Give your user at least 65536 subordinate ids in /etc/subuid and /etc/subgid, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 <user>',
  })
})
