import t from 'tap'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {EngineConfig} from '../../../src/config/index.js'
import {InvalidArgumentError, NameInUseError, NoSuchImageError, TspodError} from '../../../src/errors/index.js'
import {listImages, readConfig, removeImages} from '../../../src/image/images.js'
import {findImage, isManifestList} from '../../../src/image/lookup.js'
import {
  addToManifestList,
  annotateManifestList,
  applyOverrides,
  createManifestList,
  inspectLocalManifestList,
  listMediaType,
  manifestListExists,
  parseAnnotations,
  readIndex,
  removeManifestLists,
  serializeIndex,
  type ListEntry,
  type ManifestListIndex,
} from '../../../src/image/manifest-list.js'
import {MEDIA, hostPlatform, type ImageConfig} from '../../../src/image/oci.js'
import {commitImage, stageBytes} from '../../../src/image/stage.js'
import {Store} from '../../../src/storage/store.js'

const config = {} as EngineConfig
const access = {}
const lookup = {}
const host = hostPlatform()
const other = host.architecture === 'arm64' ? 'amd64' : 'arm64'

function openStore(t: Parameters<Parameters<typeof t.test>[1]>[0]): Store {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-manifest-list-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'run'), driver: 'vfs'})
}

/** An image without layers: enough for a list to point at. */
async function addImage(store: Store, name: string, architecture: string, extra: Partial<ImageConfig> = {}, digests?: string[]): Promise<{id: string; digest: string}> {
  const imageConfig: ImageConfig = {architecture, os: 'linux', rootfs: {type: 'layers', diff_ids: []}, ...extra}
  const configBlob = await stageBytes(store, JSON.stringify(imageConfig))
  const manifest = {schemaVersion: 2, mediaType: MEDIA.ociManifest, config: {mediaType: MEDIA.ociConfig, digest: configBlob.digest, size: configBlob.size}, layers: []}
  const manifestBlob = await stageBytes(store, JSON.stringify(manifest))
  const record = await commitImage(store, {config: configBlob, manifest: manifestBlob, manifestMediaType: MEDIA.ociManifest, layers: [], names: [name], created: '2024-01-01T00:00:00Z', digests})
  return {id: record.id, digest: manifestBlob.digest}
}

t.test('the list type: a Docker list while it can be one, an OCI index otherwise', async t => {
  const docker: ListEntry = {mediaType: MEDIA.dockerManifest, digest: 'sha256:' + 'a'.repeat(64), size: 10}
  const oci: ListEntry = {mediaType: MEDIA.ociManifest, digest: 'sha256:' + 'b'.repeat(64), size: 11}
  t.equal(listMediaType([]), MEDIA.dockerManifestList)
  t.equal(listMediaType([docker]), MEDIA.dockerManifestList)
  t.equal(listMediaType([docker, oci]), MEDIA.ociIndex)
  t.equal(listMediaType([{...docker, annotations: {a: 'b'}}]), MEDIA.ociIndex)
  t.equal(listMediaType([docker], {a: 'b'}), MEDIA.ociIndex)
})

t.test('index bytes keep the field order Podman prints', async t => {
  const entry: ListEntry = {
    digest: 'sha256:' + 'a'.repeat(64),
    size: 10,
    mediaType: MEDIA.dockerManifest,
    platform: {variant: 'v8', features: ['f'], os: 'linux', architecture: 'arm64', 'os.version': '1'},
    annotations: {k: 'v'},
  }
  const dockerList = JSON.parse(serializeIndex([entry], undefined, MEDIA.dockerManifestList).toString())
  t.same(Object.keys(dockerList), ['schemaVersion', 'mediaType', 'manifests'])
  t.same(Object.keys(dockerList.manifests[0]), ['mediaType', 'size', 'digest', 'platform'])
  t.same(Object.keys(dockerList.manifests[0].platform), ['architecture', 'os', 'os.version', 'variant', 'features'])
  const index = JSON.parse(serializeIndex([entry], {top: 'x'}, MEDIA.ociIndex).toString())
  t.same(Object.keys(index), ['schemaVersion', 'mediaType', 'manifests', 'annotations'])
  t.same(Object.keys(index.manifests[0]), ['mediaType', 'digest', 'size', 'annotations', 'platform'])
})

t.test('annotations and platform overrides', async t => {
  t.same(parseAnnotations(['a=b', 'c=d=e', 'f=']), {a: 'b', c: 'd=e', f: ''})
  t.equal(parseAnnotations([]), undefined)
  t.throws(() => parseAnnotations(['novalue']), {message: 'no value given for annotation "novalue"'})
  t.throws(() => parseAnnotations(['=x']), InvalidArgumentError)
  const addition = {entry: {mediaType: MEDIA.ociManifest, digest: 'sha256:' + 'a'.repeat(64), size: 1, platform: {architecture: 'amd64', os: 'linux'}}, instance: {digest: 'sha256:' + 'a'.repeat(64)}}
  applyOverrides(addition, {arch: 'arm64', variant: 'v8', osVersion: '10', features: ['a,b', 'c'], osFeatures: ['win32k'], annotations: ['x=y']})
  t.same(addition.entry.platform, {architecture: 'arm64', os: 'linux', variant: 'v8', 'os.version': '10', features: ['a', 'b', 'c'], 'os.features': ['win32k']})
  t.same(addition.entry.annotations, {x: 'y'})
  t.same(addition.instance, {digest: 'sha256:' + 'a'.repeat(64), platform: {os: 'linux', architecture: 'arm64', variant: 'v8'}})
})

t.test('create, add, annotate, inspect, and lookups through the list', async t => {
  const store = openStore(t)
  const mine = await addImage(store, 'localhost/bb:host', host.architecture)
  const theirs = await addImage(store, 'localhost/bb:other', other, {config: {Cmd: ['/bin/sh']}})
  const id = await createManifestList(config, store, 'ml', [], {access, lookup})
  t.match(id, /^[a-f0-9]{64}$/)
  t.equal(await addToManifestList(config, store, 'ml', 'localhost/bb:host', {access, lookup}), id, 'add prints the same ID')
  t.equal(await addToManifestList(config, store, 'localhost/ml:latest', 'containers-storage:localhost/bb:other', {access, lookup, variant: 'v8', annotations: ['a=b']}), id)
  const index = inspectLocalManifestList(store, 'ml', lookup) as ManifestListIndex
  t.equal(index.mediaType, MEDIA.ociIndex, 'OCI manifests make an OCI index')
  t.same(index.manifests.map(m => [m.digest, m.platform?.architecture]), [[mine.digest, host.architecture], [theirs.digest, other]])
  t.same(index.manifests[1]!.annotations, {a: 'b'})
  t.equal(index.manifests[0]!.size, store.readBlob(mine.digest).length)
  t.ok(manifestListExists(store, 'ml', lookup))
  t.notOk(manifestListExists(store, 'bb:host', lookup), 'an image is no list')
  t.notOk(manifestListExists(store, 'nothere', lookup))

  const images = store.readImages()
  const list = images.find(i => i.id === id)!
  t.ok(isManifestList(list))
  t.same(list.layers, [])
  t.equal(findImage(images, 'ml')?.id, mine.id, 'a lookup resolves the list to the host image')
  t.equal(findImage(images, 'ml', {manifestList: true})?.id, id, 'unless it asks for the list')
  t.equal(findImage(images, id.slice(0, 12))?.id, mine.id)
  t.throws(() => readConfig(store, list), {message: /is a manifest list, which has no image config/})

  t.equal(await annotateManifestList(store, 'ml', theirs.digest, {arch: 's390x', annotations: ['c=d']}, lookup), id)
  t.equal(await annotateManifestList(store, 'ml', 'bb:host', {osVersion: '1.2'}, lookup), id, 'an entry named by its image')
  const annotated = readIndex(store, store.readImages().find(i => i.id === id)!)
  t.same(annotated.manifests[1]!.platform, {architecture: 's390x', os: 'linux', variant: 'v8'})
  t.same(annotated.manifests[1]!.annotations, {a: 'b', c: 'd'})
  t.equal(annotated.manifests[0]!.platform?.['os.version'], '1.2')
  await t.rejects(annotateManifestList(store, 'ml', 'sha256:' + '0'.repeat(64), {arch: 'x'}, lookup), {message: /no image in manifest list ml has this digest/})

  const summaries = listImages(store)
  t.equal(summaries.length, 3, 'images lists the list')
  t.ok(summaries.every(s => s.ParentId === ''), 'a list is nobody\'s parent')
})

t.test('a list without an image for this host fails lookups clearly', async t => {
  const store = openStore(t)
  await addImage(store, 'localhost/only:other', other)
  await createManifestList(config, store, 'ol', ['only:other'], {access, lookup})
  t.throws(() => findImage(store.readImages(), 'ol'), {message: `ol: the manifest list has no image for ${host.os}/${host.architecture}: image not known`})
  t.ok(findImage(store.readImages(), 'ol', {manifestList: true}))
})

t.test('create refuses a name in use unless --amend; non-lists are refused', async t => {
  const store = openStore(t)
  const img = await addImage(store, 'localhost/img:1', host.architecture)
  const id = await createManifestList(config, store, 'ml:1', [], {access, lookup})
  await t.rejects(createManifestList(config, store, 'ml:1', [], {access, lookup}), NameInUseError)
  await t.rejects(createManifestList(config, store, 'img:1', [], {access, lookup}), {message: `creating image to hold manifest list: image name "localhost/img:1" is already associated with image "${img.id}": that name is already in use`})
  t.equal(await createManifestList(config, store, 'ml:1', ['img:1'], {access, lookup, amend: true, annotations: ['org.example=1']}), id)
  const index = inspectLocalManifestList(store, 'ml:1', lookup) as ManifestListIndex
  t.equal(index.manifests.length, 1)
  t.same(index.annotations, {'org.example': '1'})
  await t.rejects(addToManifestList(config, store, 'img:1', 'img:1', {access, lookup}), {message: 'img:1: image is not a manifest list'})
  await t.rejects(addToManifestList(config, store, 'nolist', 'img:1', {access, lookup}), NoSuchImageError)
  await t.rejects(addToManifestList(config, store, 'ml:1', 'containers-storage:absent', {access, lookup}), NoSuchImageError)
  await t.rejects(addToManifestList(config, store, 'ml:1', 'oci-archive:/x.tar', {access, lookup}), InvalidArgumentError)
})

t.test('a list added to a list gives its host entry, or all with --all', async t => {
  const store = openStore(t)
  await addImage(store, 'localhost/a:1', host.architecture)
  await addImage(store, 'localhost/b:1', other)
  await createManifestList(config, store, 'src', ['a:1', 'b:1'], {access, lookup})
  await createManifestList(config, store, 'one', ['src'], {access, lookup})
  await createManifestList(config, store, 'both', ['src'], {access, lookup, all: true})
  t.equal((inspectLocalManifestList(store, 'one', lookup) as ManifestListIndex).manifests.length, 1)
  t.equal((inspectLocalManifestList(store, 'both', lookup) as ManifestListIndex).manifests.length, 2)
})

t.test('manifest rm and rmi remove the list, not its images', async t => {
  const store = openStore(t)
  const img = await addImage(store, 'localhost/img:1', host.architecture)
  const id = await createManifestList(config, store, 'ml', ['img:1'], {access, lookup})
  const report = await removeManifestLists(store, ['ml', 'img:1', 'absent'], lookup)
  t.same(report.deleted, [id])
  t.same(report.untagged, ['localhost/ml:latest'])
  t.same(report.errors.map(e => [e.ref, e.exitCode, e.error.message]), [['img:1', 125, 'img:1: image is not a manifest list'], ['absent', 1, 'absent: image not known']])
  t.ok(report.errors.every(e => e.error instanceof TspodError))
  t.same(store.readImages().map(i => i.id), [img.id])
  const again = await createManifestList(config, store, 'ml2', ['img:1'], {access, lookup})
  const removed = await removeImages(store, ['ml2'], lookup)
  t.same(removed.deleted, [again], 'rmi of a list removes the list')
  t.ok(store.hasBlob(img.digest), "the image's manifest stays")
})

t.test('commitImage records more digests, as a pull through a list gives', async t => {
  const store = openStore(t)
  const listDigest = 'sha256:' + 'f'.repeat(64)
  const img = await addImage(store, 'localhost/x:1', host.architecture, {}, [listDigest])
  const record = store.readImages().find(i => i.id === img.id)!
  t.same(record.digests, [img.digest, listDigest])
  t.equal(record.digest, img.digest)
  t.equal(findImage(store.readImages(), `localhost/x@${listDigest}`)?.id, img.id)
})
