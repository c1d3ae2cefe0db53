import t, {type Test} from 'tap'
import {spawnSync} from 'node:child_process'
import {createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough, Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'
import {pack as createPack, extract as createExtract} from 'tar-stream'
import {saveImages, type SaveOptions} from '../../../src/image/archive-save.js'
import {loadImages, loadImagesFromDirectory} from '../../../src/image/archive-load.js'
import {importImage} from '../../../src/image/import.js'
import {MEDIA} from '../../../src/image/oci.js'
import {sha256} from '../../../src/storage/hashing.js'
import {Store, type ImageRecord} from '../../../src/storage/store.js'
import {StorageError} from '../../../src/errors/index.js'

interface Member {
  name: string
  type?: 'file' | 'directory' | 'symlink'
  data?: Buffer | string
  linkname?: string
  mode?: number
}

/** A tar in memory: these tests only ever make small ones. */
async function makeTar(members: Member[]): Promise<Buffer> {
  const pack = createPack()
  const chunks: Buffer[] = []
  pack.on('data', (c: Buffer) => chunks.push(c))
  const ended = new Promise(resolve => pack.on('end', resolve))
  for (const m of members) {
    const type = m.type ?? 'file'
    await new Promise<void>((resolve, reject) => {
      const header = {name: m.name, type, mode: m.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(0), ...(m.linkname ? {linkname: m.linkname} : {})}
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (type === 'file') pack.entry(header, Buffer.from(m.data ?? ''), cb)
      else pack.entry(header, cb)
    })
  }
  pack.finalize()
  await ended
  return Buffer.concat(chunks)
}

interface ReadMember {
  name: string
  type: string
  data: Buffer
  mtime: number
  uid: number
  gid: number
  linkname?: string
}

async function readTar(data: Buffer): Promise<ReadMember[]> {
  const extract = createExtract()
  const out: ReadMember[] = []
  extract.on('entry', (header, body, next) => {
    const chunks: Buffer[] = []
    body.on('data', (c: Buffer) => chunks.push(c))
    body.on('end', () => {
      out.push({name: header.name, type: header.type ?? 'file', data: Buffer.concat(chunks), mtime: header.mtime?.getTime() ?? -1, uid: header.uid ?? -1, gid: header.gid ?? -1, linkname: header.linkname ?? undefined})
      next()
    })
  })
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  extract.end(data)
  await done
  return out
}

function member(members: ReadMember[], name: string): ReadMember {
  const found = members.find(m => m.name === name)
  if (!found) throw new Error(`no member ${name} in ${members.map(m => m.name).join(', ')}`)
  return found
}

function newStore(t: Test, name: string): Store {
  const dir = mkdtempSync(join(tmpdir(), `tspod-archive-${name}-`))
  t.teardown(() => spawnSync('rm', ['-rf', dir]))
  return Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'run'), driver: 'overlay'})
}

function workDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-archive-work-'))
  t.teardown(() => spawnSync('rm', ['-rf', dir]))
  return dir
}

const ROOTFS: Member[] = [
  {name: 'etc', type: 'directory'},
  {name: 'etc/hello', data: 'hello from the layer\n'},
  {name: 'bin', type: 'directory'},
  {name: 'bin/tool', data: 'x'.repeat(5000), mode: 0o755},
  {name: 'bin/alias', type: 'symlink', linkname: 'tool'},
]

async function importTiny(t: Test, store: Store, reference: string | undefined, members: Member[] = ROOTFS): Promise<ImageRecord> {
  const file = join(workDir(t), 'rootfs.tar')
  writeFileSync(file, await makeTar(members))
  const report = await importImage(store, {source: file, reference, changes: ['CMD ["/bin/tool"]'], rootless: false})
  return store.readImages().find(i => i.id === report.id)!
}

function saveOptions(format: SaveOptions['format'], output: SaveOptions['output'], extra: Partial<SaveOptions> = {}): SaveOptions {
  return {format, output, multiImage: false, lookup: {}, ...extra}
}

function layerFile(store: Store, image: ImageRecord, layer: number, path: string): string {
  return readFileSync(join(store.layerDiffDir(image.layers[layer]), path), 'utf8')
}

function diffIds(store: Store, image: ImageRecord): string[] {
  return image.layers.map(l => store.readLayer(l).diffId)
}

function loadFile(store: Store, path: string) {
  return loadImages(store, createReadStream(path), {rootless: false})
}

/** What a failed load must leave: nothing at all. */
function assertEmpty(t: Test, store: Store): void {
  t.same(store.readImages(), [], 'no image')
  t.same(store.listLayerIds(), [], 'no layer')
  t.same(store.listBlobDigests(), [], 'no blob')
  t.same(readdirSync(store.tmpDir), [], 'nothing left in tmp/')
}

t.test('docker-archive: layout, determinism and a round trip', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  const dir = workDir(t)
  const file = join(dir, 'tiny.tar')
  await saveImages(a, ['tiny'], saveOptions('docker-archive', file))
  t.same(readdirSync(dir), ['tiny.tar'], 'no temporary file is left beside the archive')

  const members = await readTar(readFileSync(file))
  const names = members.map(m => m.name)
  t.same(names, [...names].sort(), 'members are sorted')
  t.ok(members.every(m => m.mtime === 0 && m.uid === 0 && m.gid === 0), 'mtime 0, owner 0')
  const diffId = diffIds(a, image)[0]
  const manifest = JSON.parse(member(members, 'manifest.json').data.toString())
  t.same(manifest, [{Config: `${image.id}.json`, RepoTags: ['localhost/tiny:latest'], Layers: [`${diffId.slice(7)}.tar`]}])
  t.equal(sha256(member(members, `${image.id}.json`).data), `sha256:${image.id}`, 'the config as stored')
  t.equal(sha256(member(members, `${diffId.slice(7)}.tar`).data), diffId, 'the layer is the uncompressed tar of its diffID')
  const repositories = JSON.parse(member(members, 'repositories').data.toString())
  const legacyId = repositories['localhost/tiny'].latest as string
  t.match(legacyId, /^[a-f0-9]{64}$/)
  t.equal(member(members, `${legacyId}/layer.tar`).linkname, `../${diffId.slice(7)}.tar`, 'legacy layer link')
  t.equal(member(members, `${legacyId}/VERSION`).data.toString(), '1.0')

  const again = join(dir, 'again.tar')
  await saveImages(a, ['tiny'], saveOptions('docker-archive', again))
  t.ok(readFileSync(file).equals(readFileSync(again)), 'saving twice gives the same bytes')

  const sink = new PassThrough()
  const chunks: Buffer[] = []
  sink.on('data', (c: Buffer) => chunks.push(c))
  await saveImages(a, ['tiny'], saveOptions('docker-archive', sink))
  t.ok(Buffer.concat(chunks).equals(readFileSync(file)), 'a stream gets the same bytes as a file')

  const b = newStore(t, 'b')
  const report = await loadFile(b, file)
  t.same(report, {names: ['localhost/tiny:latest'], ids: [image.id]}, 'same ID and name')
  const loaded = b.readImages()[0]
  t.equal(loaded.id, image.id)
  t.same(loaded.names, ['localhost/tiny:latest'])
  t.same(diffIds(b, loaded), diffIds(a, image), 'same diffIDs')
  t.equal(loaded.manifestMediaType, MEDIA.dockerManifest, 'a schema2 manifest is made up')
  const made = b.readBlobJson<{layers: Array<{mediaType: string; digest: string; size: number}>}>(loaded.digest)
  t.same(made.layers, [{mediaType: MEDIA.dockerLayer, size: a.readLayer(image.layers[0]).size, digest: diffId}], 'naming the uncompressed layer')
  t.equal(layerFile(b, loaded, 0, 'etc/hello'), 'hello from the layer\n', 'layer content')
  t.equal(readdirSync(b.tmpDir).length, 0, 'the spool is gone')
})

t.test('docker-archive: more tags without -m, more images with -m, by ID without a name', async t => {
  const a = newStore(t, 'a')
  const one = await importTiny(t, a, 'one')
  const two = await importTiny(t, a, 'quay.io/x/two:v2', [{name: 'two', data: 'second image\n'}])
  const dir = workDir(t)

  const tagged = join(dir, 'tagged.tar')
  await saveImages(a, ['one', 'extra:tag', 'docker.io/busybox'], saveOptions('docker-archive', tagged))
  const manifest = JSON.parse(member(await readTar(readFileSync(tagged)), 'manifest.json').data.toString())
  t.same(manifest[0].RepoTags, ['localhost/extra:tag', 'docker.io/library/busybox:latest', 'localhost/one:latest'], 'as Podman orders them')

  const multi = join(dir, 'multi.tar')
  await saveImages(a, ['one', 'quay.io/x/two:v2', 'one'], saveOptions('docker-archive', multi, {multiImage: true}))
  const b = newStore(t, 'b')
  const report = await loadFile(b, multi)
  t.same(report, {names: ['localhost/one:latest', 'quay.io/x/two:v2'], ids: [one.id, two.id]})
  t.equal(b.readImages().length, 2)

  const byId = join(dir, 'byid.tar')
  await saveImages(a, [one.id.slice(0, 12)], saveOptions('docker-archive', byId))
  const c = newStore(t, 'c')
  t.same(await loadFile(c, byId), {names: [`sha256:${one.id}`], ids: [one.id]}, 'nameless, reported by ID')
  t.same(c.readImages()[0].names, [])

  await t.rejects(saveImages(a, ['one', 'quay.io/x/two:v2'], saveOptions('oci-archive', join(dir, 'x.tar'), {multiImage: true})), {
    message: 'unsupported format "oci-archive" for saving multiple images (only docker-archive)',
  })
  await t.rejects(saveImages(a, ['one'], saveOptions('oci-archive', join(dir, 'x.tar'), {compress: true})), {message: "--compress can only be set when --format is 'docker-dir'"})
  await t.rejects(saveImages(a, ['one'], saveOptions('oci-dir', new PassThrough())), {message: /writes a directory/})
  await t.rejects(saveImages(a, ['nosuch'], saveOptions('docker-archive', join(dir, 'x.tar'))), {message: 'nosuch: image not known'})
  t.notOk(existsSync(join(dir, 'x.tar')))
})

t.test('RepoTags are qualified as Podman does; a RepoTag without a tag is refused', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  const file = join(workDir(t), 'tiny.tar')
  await saveImages(a, ['tiny'], saveOptions('docker-archive', file))
  const members = await readTar(readFileSync(file))
  const rewrite = async (tags: string[]): Promise<string> => {
    const out = join(workDir(t), 'rewritten.tar')
    const manifest = JSON.parse(member(members, 'manifest.json').data.toString())
    manifest[0].RepoTags = tags
    writeFileSync(out, await makeTar(members.map(m => (m.name === 'manifest.json' ? {name: m.name, data: JSON.stringify(manifest)} : {name: m.name, type: m.type as Member['type'], data: m.data, linkname: m.linkname}))))
    return out
  }
  const b = newStore(t, 'b')
  t.same(await loadFile(b, await rewrite(['busybox:1.36', 'docker.io/busybox:latest', 'localhost/x:y'])), {
    names: ['localhost/busybox:1.36', 'docker.io/library/busybox:latest', 'localhost/x:y'],
    ids: [image.id],
  })
  const c = newStore(t, 'c')
  await t.rejects(loadFile(c, await rewrite(['quay.io/x/y'])), {message: 'docker-archive: RepoTag "quay.io/x/y" does not contain a tag'})
  assertEmpty(t, c)
})

t.test('oci-archive: the stored manifest as is, named by its ref.name', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  const file = join(workDir(t), 'tiny-oci.tar')
  await saveImages(a, ['tiny'], saveOptions('oci-archive', file))
  const members = await readTar(readFileSync(file))
  t.same(members.map(m => m.name), ['blobs', 'blobs/sha256', ...[image.digest, `sha256:${image.id}`, a.readLayer(image.layers[0]).digest].map(d => `blobs/sha256/${d.slice(7)}`).sort(), 'index.json', 'oci-layout'])
  t.same(JSON.parse(member(members, 'oci-layout').data.toString()), {imageLayoutVersion: '1.0.0'})
  const index = JSON.parse(member(members, 'index.json').data.toString())
  t.same(index.manifests, [{mediaType: MEDIA.ociManifest, digest: image.digest, size: a.readBlob(image.digest).length, annotations: {'org.opencontainers.image.ref.name': 'localhost/tiny:latest'}}])

  const b = newStore(t, 'b')
  t.same(await loadFile(b, file), {names: ['localhost/tiny:latest'], ids: [image.id]})
  const loaded = b.readImages()[0]
  t.equal(loaded.digest, image.digest, 'the manifest digest survives')
  t.same(diffIds(b, loaded), diffIds(a, image))
  t.equal(layerFile(b, loaded, 0, 'etc/hello'), 'hello from the layer\n')

  const again = join(workDir(t), 'again.tar')
  await saveImages(a, ['tiny'], saveOptions('oci-archive', again))
  t.ok(readFileSync(file).equals(readFileSync(again)), 'deterministic')
})

t.test('oci-archive: a bare tag is qualified like Podman, no name means nameless', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  const file = join(workDir(t), 'tiny-oci.tar')
  await saveImages(a, ['tiny'], saveOptions('oci-archive', file))
  const members = await readTar(readFileSync(file))
  const withAnnotations = async (annotations: Record<string, string> | undefined): Promise<string> => {
    const index = JSON.parse(member(members, 'index.json').data.toString())
    if (annotations) index.manifests[0].annotations = annotations
    else delete index.manifests[0].annotations
    const out = join(workDir(t), 'x.tar')
    writeFileSync(out, await makeTar(members.filter(m => m.type === 'file').map(m => ({name: m.name, data: m.name === 'index.json' ? JSON.stringify(index) : m.data}))))
    return out
  }
  t.same((await loadFile(newStore(t, 'b'), await withAnnotations({'org.opencontainers.image.ref.name': 'v2'}))).names, ['localhost/v2:latest'])
  t.same((await loadFile(newStore(t, 'c'), await withAnnotations({'org.opencontainers.image.ref.name': 'latest', 'io.containerd.image.name': 'docker.io/library/tiny:1'}))).names, ['docker.io/library/tiny:1'], 'the containerd name wins, as in Podman')
  t.same(await loadFile(newStore(t, 'd'), await withAnnotations(undefined)), {names: [`sha256:${image.id}`], ids: [image.id]})
})

/** A two-layer OCI archive made by hand: a gzip layer below a plain one with a whiteout. */
async function twoLayerOciArchive(compress: boolean): Promise<{archive: Buffer; id: string; diffIds: string[]}> {
  const lower = await makeTar([{name: 'base', type: 'directory'}, {name: 'base/keep', data: 'kept\n'}, {name: 'base/gone', data: 'removed above\n'}])
  const upper = await makeTar([{name: 'base', type: 'directory'}, {name: 'base/.wh.gone', data: ''}, {name: 'top', data: 'upper layer\n'}])
  const lowerBlob = compress ? gzipSync(lower) : lower
  const config = Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', config: {Cmd: ['/top']}, rootfs: {type: 'layers', diff_ids: [sha256(lower), sha256(upper)]}}))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: {mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length},
    layers: [
      {mediaType: compress ? MEDIA.ociLayerGzip : MEDIA.ociLayer, digest: sha256(lowerBlob), size: lowerBlob.length},
      {mediaType: MEDIA.ociLayer, digest: sha256(upper), size: upper.length},
    ],
  }))
  const index = {schemaVersion: 2, manifests: [{mediaType: MEDIA.ociManifest, digest: sha256(manifest), size: manifest.length, annotations: {'org.opencontainers.image.ref.name': 'example.com/two:layers'}}]}
  const blob = (data: Buffer): Member => ({name: `blobs/sha256/${sha256(data).slice(7)}`, data})
  // Members out of the usual order on purpose: the loader must not care.
  const archive = await makeTar([blob(upper), {name: 'index.json', data: JSON.stringify(index)}, blob(config), blob(manifest), blob(lowerBlob), {name: 'oci-layout', data: '{"imageLayoutVersion": "1.0.0"}'}])
  return {archive, id: sha256(config).slice(7), diffIds: [sha256(lower), sha256(upper)]}
}

t.test('oci-archive with a gzip layer loads, and saves as docker-archive decompressed', async t => {
  const {archive, id, diffIds: expected} = await twoLayerOciArchive(true)
  const dir = workDir(t)
  const file = join(dir, 'two.tar')
  writeFileSync(file, archive)
  const b = newStore(t, 'b')
  t.same(await loadFile(b, file), {names: ['example.com/two:layers'], ids: [id]})
  const image = b.readImages()[0]
  t.same(diffIds(b, image), expected)
  t.equal(b.readLayer(image.layers[0]).mediaType, MEDIA.ociLayerGzip, 'the blob is kept compressed')
  t.equal(layerFile(b, image, 1, 'top'), 'upper layer\n')

  const docker = join(dir, 'two-docker.tar')
  await saveImages(b, ['example.com/two:layers'], saveOptions('docker-archive', docker))
  const members = await readTar(readFileSync(docker))
  for (const diffId of expected) t.equal(sha256(member(members, `${diffId.slice(7)}.tar`).data), diffId, `layer ${diffId.slice(7, 19)} decompressed`)
  t.same((await loadFile(b, docker)).ids, [id], 'back into the store that has its layers')
  const both = b.readImages()
  t.equal(both.length, 1)
  t.equal(both[0].digests.length, 2, 'known by both manifests')
  const made = b.readBlobJson<{layers: Array<{mediaType: string; digest: string}>}>(both[0].digests[1])
  t.same(made.layers.map(l => l.mediaType), [MEDIA.dockerLayerGzip, MEDIA.dockerLayer], 'the made-up manifest names the blobs the store has')
  t.ok(made.layers.every(l => b.hasBlob(l.digest)))

  const c = newStore(t, 'c')
  t.same(await loadFile(c, docker), {names: ['example.com/two:layers'], ids: [id]}, 'same ID after the trip')
  const again = c.readImages()[0]
  t.same(diffIds(c, again), expected)
  t.equal(layerFile(c, again, 0, 'base/keep'), 'kept\n')

  const oci = join(dir, 'two-back.tar')
  await saveImages(c, ['example.com/two:layers'], saveOptions('oci-archive', oci))
  const index = JSON.parse(member(await readTar(readFileSync(oci)), 'index.json').data.toString())
  const manifest = JSON.parse(member(await readTar(readFileSync(oci)), `blobs/sha256/${index.manifests[0].digest.slice(7)}`).data.toString())
  t.equal(manifest.mediaType, MEDIA.ociManifest, 'a schema2 manifest is written as OCI')
  t.same(manifest.layers.map((l: {mediaType: string}) => l.mediaType), [MEDIA.ociLayer, MEDIA.ociLayer])
  t.equal(manifest.config.digest, `sha256:${id}`)
  const d = newStore(t, 'd')
  t.same((await loadFile(d, oci)).ids, [id])
})

t.test('layers the store has are not extracted again', async t => {
  const {archive, id} = await twoLayerOciArchive(false)
  const file = join(workDir(t), 'two.tar')
  writeFileSync(file, archive)
  const b = newStore(t, 'b')
  await loadFile(b, file)
  const layer = b.readImages()[0].layers[1]
  const before = statSync(b.layerDir(layer)).ino
  t.same((await loadFile(b, file)).ids, [id])
  t.equal(statSync(b.layerDir(layer)).ino, before, 'the same layer directory')
  t.equal(b.readImages().length, 1)
  t.same(readdirSync(b.tmpDir), [])
})

t.test('a corrupt layer fails the load and leaves nothing behind', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  const dir = workDir(t)
  const corrupt = async (format: 'docker-archive' | 'oci-archive'): Promise<string> => {
    const file = join(dir, `${format}.tar`)
    await saveImages(a, ['tiny'], saveOptions(format, file))
    const layerDigest = a.readLayer(image.layers[0]).diffId.slice(7)
    const members = await readTar(readFileSync(file))
    const out = join(dir, `${format}-corrupt.tar`)
    writeFileSync(out, await makeTar(members.map(m => {
      let data = m.data
      if (m.name.startsWith(layerDigest) || m.name.endsWith(layerDigest)) {
        // A byte inside bin/tool's content: the tar still parses, its digest does not match.
        data = Buffer.from(data)
        const at = data.indexOf('xxxxxxxx')
        data[at] = 0x79
      }
      return {name: m.name.replace(/\/$/, ''), type: m.type as Member['type'], data, linkname: m.linkname}
    })))
    return out
  }
  const b = newStore(t, 'b')
  const docker = await corrupt('docker-archive')
  const err = await loadFile(b, docker).then(() => undefined, (e: unknown) => e)
  t.type(err, StorageError)
  t.match((err as Error).message, /^docker-archive image 0: layer [a-f0-9]{64}\.tar has diffID sha256:[a-f0-9]{64}, but the image config lists sha256:[a-f0-9]{64}$/)
  assertEmpty(t, b)
  const oci = await corrupt('oci-archive')
  await t.rejects(loadFile(b, oci), {name: 'StorageError', message: /^blob sha256:[a-f0-9]{64}: content has digest sha256:[a-f0-9]{64}$/})
  assertEmpty(t, b)
})

t.test('archives compressed as a whole load: gzip and zstd', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  const dir = workDir(t)
  const file = join(dir, 'tiny.tar')
  await saveImages(a, ['tiny'], saveOptions('docker-archive', file))
  writeFileSync(join(dir, 'tiny.tar.gz'), gzipSync(readFileSync(file)))
  t.same((await loadFile(newStore(t, 'gz'), join(dir, 'tiny.tar.gz'))).ids, [image.id], 'gzip')
  const zstd = spawnSync('zstd', ['-q', '-c', file])
  t.equal(zstd.status, 0, 'zstd ran')
  writeFileSync(join(dir, 'tiny.tar.zst'), zstd.stdout)
  t.same((await loadFile(newStore(t, 'zst'), join(dir, 'tiny.tar.zst'))).ids, [image.id], 'zstd')
  const piped = newStore(t, 'piped')
  t.same((await loadImages(piped, Readable.from([gzipSync(readFileSync(file))]), {rootless: false})).names, ['localhost/tiny:latest'], 'from a stream')
  const padded = newStore(t, 'padded')
  t.same((await loadImages(padded, Readable.from([readFileSync(file), Buffer.alloc(10240)]), {rootless: false})).ids, [image.id], 'zero records after the end, as tar(1) pads')

  const gz = gzipSync(readFileSync(file))
  const cut = newStore(t, 'cut')
  await t.rejects(loadImages(cut, Readable.from([gz.subarray(0, gz.length - 4)]), {rootless: false}), {name: 'StorageError', message: /unexpected end of file/}, 'a gzip stream cut short fails even when the tar inside is whole')
  assertEmpty(t, cut)
})

t.test('what is not an image archive is refused clearly', async t => {
  const b = newStore(t, 'b')
  await t.rejects(loadImages(b, Readable.from([Buffer.from('hello\n'.repeat(200))]), {rootless: false}), {name: 'InvalidArgumentError', message: /^reading the archive: /})
  const plain = await makeTar([{name: 'file', data: 'x'}])
  await t.rejects(loadImages(b, Readable.from([plain]), {rootless: false}), {message: /^payload does not match any of the supported image formats/})
  const escaping = await makeTar([{name: '../evil', data: 'x'}])
  await t.rejects(loadImages(b, Readable.from([escaping]), {rootless: false}), {message: 'reading the archive: member "../evil" points outside the archive'})
  assertEmpty(t, b)
})

t.test('oci-dir: a new layout, added to an existing one, a foreign directory refused', async t => {
  const a = newStore(t, 'a')
  const one = await importTiny(t, a, 'one')
  const two = await importTiny(t, a, 'two', [{name: 'two', data: '2\n'}])
  const dir = workDir(t)
  const layout = join(dir, 'layout')
  await saveImages(a, ['one'], saveOptions('oci-dir', layout))
  t.same(readdirSync(dir), ['layout'], 'nothing else beside it')
  t.same(readdirSync(layout).sort(), ['blobs', 'index.json', 'oci-layout'])
  await saveImages(a, ['two'], saveOptions('oci-dir', layout))
  await saveImages(a, ['one'], saveOptions('oci-dir', layout))
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))
  t.same(index.manifests.map((m: {annotations: Record<string, string>}) => m.annotations['org.opencontainers.image.ref.name']), ['localhost/two:latest', 'localhost/one:latest'], 'one entry per name')
  const b = newStore(t, 'b')
  t.same(await loadImagesFromDirectory(b, layout, {rootless: false}), {names: ['localhost/two:latest', 'localhost/one:latest'], ids: [two.id, one.id]})

  const foreign = join(dir, 'foreign')
  mkdirSync(foreign)
  writeFileSync(join(foreign, 'precious'), 'data')
  await t.rejects(saveImages(a, ['one'], saveOptions('oci-dir', foreign)), {message: `${foreign} exists and is not an OCI image layout: refusing to write into it`})
  t.same(readdirSync(foreign), ['precious'])
  const empty = join(dir, 'empty')
  mkdirSync(empty)
  await saveImages(a, ['one'], saveOptions('oci-dir', empty))
  t.ok(existsSync(join(empty, 'oci-layout')), 'an empty directory is used')
})

t.test('docker-dir: plain and compressed layers', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  const dir = workDir(t)
  for (const compress of [false, true]) {
    const target = join(dir, compress ? 'gz' : 'plain')
    await saveImages(a, ['tiny'], saveOptions('docker-dir', target, {compress}))
    t.equal(readFileSync(join(target, 'version'), 'utf8'), 'Directory Transport Version: 1.1\n')
    const manifest = JSON.parse(readFileSync(join(target, 'manifest.json'), 'utf8'))
    t.equal(manifest.mediaType, MEDIA.dockerManifest)
    t.equal(manifest.layers[0].mediaType, compress ? MEDIA.dockerLayerGzip : MEDIA.dockerLayer)
    t.equal(sha256(readFileSync(join(target, manifest.layers[0].digest.slice(7)))), manifest.layers[0].digest)
    const b = newStore(t, compress ? 'gz' : 'plain')
    t.same(await loadImagesFromDirectory(b, target, {rootless: false}), {names: [`sha256:${image.id}`], ids: [image.id]}, 'nameless, as Podman loads a dir')
    t.equal(layerFile(b, b.readImages()[0], 0, 'etc/hello'), 'hello from the layer\n')
  }
  const plain = join(dir, 'plain')
  await saveImages(a, ['tiny'], saveOptions('docker-dir', plain))
  t.ok(existsSync(join(plain, 'version')), 'an old docker-dir is replaced')
  const foreign = join(dir, 'foreign')
  mkdirSync(foreign)
  writeFileSync(join(foreign, 'precious'), 'data')
  await t.rejects(saveImages(a, ['tiny'], saveOptions('docker-dir', foreign)), {message: /is not a containers image directory/})
})

t.test('a save that fails leaves no archive under the target name', async t => {
  const a = newStore(t, 'a')
  const image = await importTiny(t, a, 'tiny')
  truncateSync(a.blobPath(a.readLayer(image.layers[0]).digest), 100)
  const dir = workDir(t)
  await t.rejects(saveImages(a, ['tiny'], saveOptions('docker-archive', join(dir, 'broken.tar'))), {name: 'StorageError'})
  await t.rejects(saveImages(a, ['tiny'], saveOptions('oci-dir', join(dir, 'broken-dir'))), {name: 'StorageError'})
  t.same(readdirSync(dir), [], 'no archive, no temporary file')
})
