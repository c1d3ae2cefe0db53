/**
 * `tspod save`: images out of the store in the formats Podman writes and
 * reads back:
 *
 * - docker-archive: `docker save`'s tarball. manifest.json lists each image
 *   (config `<hex>.json`, RepoTags, layers `<diffid-hex>.tar`); layers are
 *   always uncompressed tars, so compressed blobs are decompressed on the way
 *   out; the legacy per-layer directories and `repositories` file keep old
 *   Docker versions able to read it.
 * - oci-archive / oci-dir: an OCI image layout (oci-layout, index.json,
 *   blobs/sha256/...), as a tarball or a directory. Blobs go out exactly as
 *   stored, so the manifest digest stays the image's digest; only a Docker
 *   schema2 manifest is rewritten, into an OCI one naming the same blobs.
 * - docker-dir: containers/image's `dir:` layout (manifest.json, version, blobs
 *   named by hex) with a Docker schema2 manifest and uncompressed layers, or
 *   gzip-compressed ones with `compress`.
 *
 * Tarballs are written as a stream (nothing is held in memory but JSON), in
 * sorted order with owner 0 and mtime 0, so the same images always give the
 * same bytes. A file or directory target appears only when complete.
 */
import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream, existsSync, readFileSync, readdirSync, statSync, type Stats} from 'node:fs'
import {mkdir, open, rename, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {Transform, type Readable, type TransformCallback, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {InvalidArgumentError, StorageError, isErrno} from '../errors/index.js'
import {digestHex} from '../storage/digest.js'
import {DigestingStream, sha256} from '../storage/hashing.js'
import type {ImageRecord, LayerRecord, Store} from '../storage/store.js'
import {syncDir, tempPathFor, writeFileAtomic} from '../util/atomic.js'
import {lookupImage, qualifyLocalName, repositoryOf, tagOf, type LookupOptions} from './lookup.js'
import {MEDIA, type Descriptor, type ImageIndexManifest, type Manifest} from './oci.js'
import {formatReference, isShortName, normalizeReference, parseReference, withDefaultTag} from './reference.js'

export type ArchiveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir' | 'docker-dir'

const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['docker-archive', 'oci-archive', 'oci-dir', 'docker-dir']

export interface SaveOptions {
  format: ArchiveFormat
  /** A stream for the tarball formats, or a path: a file for the tarball formats, a directory for the -dir ones. */
  output: Writable | string
  /** Further refs are more images (docker-archive only), not more tags of the first. */
  multiImage: boolean
  lookup: LookupOptions
  /** docker-dir only: gzip the layers. */
  compress?: boolean
  onWarning?: (message: string) => void
}

/** The annotation containers/image and Podman name an image by in index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'

const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{3,64})$/
const EPOCH = new Date(0)
const STORE_HINT = 'Run: tspod system check --repair'
const OCI_LAYOUT = JSON.stringify({imageLayoutVersion: '1.0.0'})
const DIR_VERSION = 'Directory Transport Version: 1.1\n'
/** What the top layer's legacy `json` copies from the image config, as Docker wrote it. */
const LEGACY_TOP_KEYS = ['architecture', 'config', 'container', 'container_config', 'created', 'docker_version', 'os']

interface SavedLayer {
  record: LayerRecord
  /** The layer as the stored manifest names it. */
  descriptor: Descriptor
}

interface SavedImage {
  image: ImageRecord
  /** Fully qualified names to record in the archive. */
  tags: string[]
  config: Buffer
  manifest: Manifest
  manifestBytes: Buffer
  layers: SavedLayer[]
}

export async function saveImages(store: Store, refs: string[], options: SaveOptions): Promise<void> {
  const {format} = options
  if (!ARCHIVE_FORMATS.includes(format)) {
    throw new InvalidArgumentError(`unsupported format "${format}" for saving images`, {hint: `Use one of: ${ARCHIVE_FORMATS.join(', ')}`})
  }
  if (refs.length === 0) throw new InvalidArgumentError('no image specified for saving images')
  if (options.compress && format !== 'docker-dir') throw new InvalidArgumentError("--compress can only be set when --format is 'docker-dir'")
  if (options.multiImage && refs.length > 1 && format !== 'docker-archive') {
    throw new InvalidArgumentError(`unsupported format "${format}" for saving multiple images (only docker-archive)`)
  }
  const dirFormat = format === 'oci-dir' || format === 'docker-dir'
  if (dirFormat && typeof options.output !== 'string') {
    throw new InvalidArgumentError(`--format ${format} writes a directory, not a stream`, {hint: `Name the directory with: -o DIR`})
  }
  const saved = selectImages(store, refs, options)
  const output = options.output
  if (format === 'docker-archive') return writeArchive(output, out => writeDockerArchive(store, saved, out))
  const single = saved[0]
  if (format === 'oci-archive') return writeArchive(output, out => writeOciArchive(store, single, out))
  if (format === 'oci-dir') return writeOciDir(store, single, output as string)
  return writeDockerDir(store, single, output as string, options.compress ?? false)
}

/**
 * Resolve the refs the way Podman does: with multiImage each is an image;
 * otherwise the first is the image and the rest are more tags for it (which
 * only docker-archive can record). An image referenced by a name carries that
 * name; one referenced by ID carries none.
 */
function selectImages(store: Store, refs: string[], options: SaveOptions): SavedImage[] {
  const images = store.readImages()
  const targets = options.multiImage ? refs : refs.slice(0, 1)
  const extra = options.multiImage ? [] : refs.slice(1)
  let additional: string[] = []
  if (extra.length > 0) {
    if (options.format === 'docker-archive') additional = extra.map(tag => qualifyLocalName(tag))
    else options.onWarning?.(`only docker-archive records more tags: ignoring ${extra.join(', ')}`)
  }
  const byId = new Map<string, {image: ImageRecord; tags: string[]}>()
  const visited = new Set<string>()
  for (const ref of targets) {
    const image = lookupImage(images, ref, options.lookup)
    const name = matchedName(image, ref, options.lookup)
    const key = name ?? image.id
    if (visited.has(key)) continue
    visited.add(key)
    let entry = byId.get(image.id)
    if (!entry) {
      entry = {image, tags: [...additional]}
      byId.set(image.id, entry)
    }
    if (name && !entry.tags.includes(name)) entry.tags.push(name)
  }
  return [...byId.values()].map(({image, tags}) => readSavedImage(store, image, [...new Set(tags)]))
}

/** The stored name a ref found `image` by, or undefined when it matched by ID or digest. */
function matchedName(image: ImageRecord, ref: string, lookup: LookupOptions): string | undefined {
  // A full ID is an ID; a short hex word may also be a name, which wins, as in the lookup.
  const id = ID_PREFIX.exec(ref)
  if (id && (id[1].length === 64 || ref.startsWith('sha256:')) && image.id.startsWith(id[1])) return undefined
  let parsed
  try {
    parsed = parseReference(ref)
  } catch {
    return undefined
  }
  if (parsed.digest !== undefined) return undefined
  const tagged = withDefaultTag(parsed)
  const registries = typeof lookup.searchRegistries === 'function' ? lookup.searchRegistries() : lookup.searchRegistries ?? []
  const candidates = isShortName(tagged)
    ? [`localhost/${tagged.path}:${tagged.tag}`, ...registries.map(r => formatReference(normalizeReference({...tagged, domain: r})))]
    : [formatReference(normalizeReference(tagged))]
  const exact = candidates.find(c => image.names.includes(c))
  if (exact) return exact
  return isShortName(tagged) ? image.names.find(n => n.endsWith(`/${tagged.path}:${tagged.tag}`)) : undefined
}

function readSavedImage(store: Store, image: ImageRecord, tags: string[]): SavedImage {
  const manifestBytes = store.readBlob(image.digest)
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest
  const config = store.readBlob(`sha256:${image.id}`)
  const records = image.layers.map(id => store.readLayer(id))
  if (!Array.isArray(manifest.layers) || manifest.layers.length !== records.length) {
    throw new StorageError(`image ${image.id.slice(0, 12)}: its manifest lists ${manifest.layers?.length ?? 0} layers, the store ${records.length}`, {hint: STORE_HINT})
  }
  return {image, tags, config, manifest, manifestBytes, layers: records.map((record, i) => ({record, descriptor: manifest.layers[i]}))}
}

// ---------------------------------------------------------------------------
// Reading blobs back, verified

function requireBlob(store: Store, digest: string, what: string): string {
  if (!store.hasBlob(digest)) throw new StorageError(`${what} (blob ${digest}) is missing from the store`, {hint: STORE_HINT})
  return store.blobPath(digest)
}

/** Bytes to copy out of the store, the exact count known up front, and what they must hash to. */
interface BlobSource {
  expected: {digest: string; size: number}
  what: string
  open: () => Promise<Readable>
}

/** A stored blob, as is. */
function blobSource(store: Store, descriptor: {digest: string; size: number}, what: string): BlobSource {
  return {expected: {digest: descriptor.digest, size: descriptor.size}, what, open: async () => createReadStream(requireBlob(store, descriptor.digest, what))}
}

/** A layer as the uncompressed tar its diffID names, decompressing the stored blob when needed. */
function layerTarSource(store: Store, layer: SavedLayer): BlobSource {
  const {diffId, size} = layer.record
  const what = `layer ${diffId}`
  const open = async (): Promise<Readable> => {
    if (store.hasBlob(diffId)) return createReadStream(store.blobPath(diffId))
    const digest = store.hasBlob(layer.descriptor.digest) ? layer.descriptor.digest : layer.record.digest
    const path = requireBlob(store, digest, what)
    const {MAGIC_LENGTH, decompressStream, detectCompression, peekStream} = await import('../storage/compression.js')
    const {head, stream} = await peekStream(createReadStream(path), MAGIC_LENGTH)
    return decompressStream(stream, detectCompression(head))
  }
  return {expected: {digest: diffId, size}, what, open}
}

function verifyCopy(source: BlobSource, digest: string, size: number): void {
  if (digest !== source.expected.digest) throw new StorageError(`${source.what} in the store has digest ${digest}, expected ${source.expected.digest}`, {hint: STORE_HINT})
  if (size !== source.expected.size) throw new StorageError(`${source.what} in the store has ${size} bytes, expected ${source.expected.size}`, {hint: STORE_HINT})
}

/** Passes bytes through and fails at the end unless they have the expected digest and size. */
class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256')
  private size = 0

  constructor(private readonly source: BlobSource) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk)
    this.size += chunk.length
    cb(null, chunk)
  }

  override _flush(cb: TransformCallback): void {
    try {
      verifyCopy(this.source, `sha256:${this.hash.digest('hex')}`, this.size)
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }
}

// ---------------------------------------------------------------------------
// Formats

interface TarEntry {
  name: string
  type: 'file' | 'directory' | 'symlink'
  data?: Buffer
  /** Streamed content; its size goes into the header before any of it is read. */
  source?: BlobSource
  linkname?: string
}

function bytesEntry(name: string, data: Buffer | string): TarEntry {
  return {name, type: 'file', data: typeof data === 'string' ? Buffer.from(data) : data}
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}

/** JSON with the top-level keys sorted, as Go writes a map. */
function sortedJson(value: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(value).sort().map(k => [k, value[k]])))
}

function dockerArchiveEntries(store: Store, images: SavedImage[]): TarEntry[] {
  const entries = new Map<string, TarEntry>()
  const add = (entry: TarEntry): void => {
    if (!entries.has(entry.name)) entries.set(entry.name, entry)
  }
  const manifest: Array<{Config: string; RepoTags: string[]; Layers: string[]}> = []
  const repositories: Record<string, Record<string, string>> = {}
  for (const saved of images) {
    const configName = `${saved.image.id}.json`
    add(bytesEntry(configName, saved.config))
    const layerNames: string[] = []
    for (const layer of saved.layers) {
      const name = `${digestHex(layer.record.diffId)}.tar`
      layerNames.push(name)
      add({name, type: 'file', source: layerTarSource(store, layer)})
    }
    manifest.push({Config: configName, RepoTags: saved.tags, Layers: layerNames})
    const top = addLegacyLayers(saved, layerNames, add)
    if (top) {
      for (const tag of saved.tags) (repositories[repositoryOf(tag)] ??= {})[tagOf(tag)] = top
    }
  }
  add(bytesEntry('manifest.json', jsonBytes(manifest)))
  const sortedRepos = Object.fromEntries(Object.keys(repositories).sort().map(r => [r, JSON.parse(sortedJson(repositories[r])) as Record<string, string>]))
  add(bytesEntry('repositories', jsonBytes(sortedRepos)))
  return [...entries.values()]
}

/**
 * Docker's pre-1.10 layout, one directory per layer with VERSION, json and a
 * link to the layer tar. Its IDs hash the chain of diffIDs (plus, for the top
 * layer, the config fields it carries), so the same layers always get the
 * same directories. Returns the top layer's ID for `repositories`.
 */
function addLegacyLayers(saved: SavedImage, layerNames: string[], add: (entry: TarEntry) => void): string | undefined {
  const config = JSON.parse(saved.config.toString('utf8')) as Record<string, unknown>
  let chain: string | undefined
  let parent: string | undefined
  saved.layers.forEach((layer, i) => {
    const legacy: Record<string, unknown> = {}
    if (parent) legacy.parent = parent
    if (i === saved.layers.length - 1) for (const key of LEGACY_TOP_KEYS) legacy[key] = config[key] ?? null
    chain = chain ? sha256(`${chain} ${layer.record.diffId}`) : layer.record.diffId
    const id = digestHex(sha256(sortedJson({...legacy, layer_id: chain})))
    legacy.id = id
    add({name: id, type: 'directory'})
    add(bytesEntry(`${id}/VERSION`, '1.0'))
    add(bytesEntry(`${id}/json`, sortedJson(legacy)))
    add({name: `${id}/layer.tar`, type: 'symlink', linkname: `../${layerNames[i]}`})
    parent = id
  })
  return parent
}

const OCI_LAYER_FOR_DOCKER: Record<string, string> = {
  [MEDIA.dockerLayer]: MEDIA.ociLayer,
  [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip,
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
}

/**
 * The manifest an OCI layout gets: the stored one when it is OCI already;
 * a Docker schema2 one is rewritten with OCI media types for the same config
 * and layer blobs, which keeps the image ID.
 */
function ociManifestOf(saved: SavedImage): {bytes: Buffer; mediaType: string} {
  const mediaType = saved.image.manifestMediaType || saved.manifest.mediaType || MEDIA.ociManifest
  if (mediaType !== MEDIA.dockerManifest) return {bytes: saved.manifestBytes, mediaType}
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: {mediaType: MEDIA.ociConfig, digest: saved.manifest.config.digest, size: saved.manifest.config.size},
    layers: saved.manifest.layers.map(l => ({mediaType: OCI_LAYER_FOR_DOCKER[l.mediaType] ?? l.mediaType, digest: l.digest, size: l.size, ...(l.annotations ? {annotations: l.annotations} : {})})),
    ...(saved.manifest.annotations ? {annotations: saved.manifest.annotations} : {}),
  }
  return {bytes: jsonBytes(manifest), mediaType: MEDIA.ociManifest}
}

interface OciBlob {
  digest: string
  size: number
  data?: Buffer
  source?: BlobSource
}

function ociLayout(store: Store, saved: SavedImage): {blobs: OciBlob[]; descriptor: Descriptor} {
  const manifest = ociManifestOf(saved)
  const manifestDigest = sha256(manifest.bytes)
  const blobs = new Map<string, OciBlob>()
  blobs.set(manifestDigest, {digest: manifestDigest, size: manifest.bytes.length, data: manifest.bytes})
  const configDigest = `sha256:${saved.image.id}`
  blobs.set(configDigest, {digest: configDigest, size: saved.config.length, data: saved.config})
  for (const layer of saved.layers) {
    const {digest, size} = layer.descriptor
    if (!blobs.has(digest)) blobs.set(digest, {digest, size, source: blobSource(store, {digest, size}, `layer ${layer.record.diffId}`)})
  }
  const descriptor: Descriptor = {mediaType: manifest.mediaType, digest: manifestDigest, size: manifest.bytes.length}
  // As Podman: the name the image was asked for; none when it was asked for by ID.
  if (saved.tags.length > 0) descriptor.annotations = {[REF_NAME_ANNOTATION]: saved.tags[0]}
  return {blobs: [...blobs.values()], descriptor}
}

function ociIndex(manifests: Descriptor[]): Buffer {
  const index: ImageIndexManifest = {schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests}
  return jsonBytes(index)
}

function ociArchiveEntries(store: Store, saved: SavedImage): TarEntry[] {
  const {blobs, descriptor} = ociLayout(store, saved)
  const entries: TarEntry[] = [
    {name: 'blobs', type: 'directory'},
    {name: 'blobs/sha256', type: 'directory'},
    bytesEntry('oci-layout', OCI_LAYOUT),
    bytesEntry('index.json', ociIndex([descriptor])),
  ]
  for (const blob of blobs) {
    const name = `blobs/sha256/${digestHex(blob.digest)}`
    if (blob.data) entries.push(bytesEntry(name, blob.data))
    else entries.push({name, type: 'file', source: blob.source})
  }
  return entries
}

async function writeDockerArchive(store: Store, images: SavedImage[], out: Writable): Promise<void> {
  await writeTar(dockerArchiveEntries(store, images), out)
}

async function writeOciArchive(store: Store, saved: SavedImage, out: Writable): Promise<void> {
  await writeTar(ociArchiveEntries(store, saved), out)
}

/**
 * An OCI layout directory. A new or empty target is built beside it and
 * renamed into place; an existing layout gets the image added, blobs first
 * and index.json last, replacing an entry of the same name as
 * containers/image does. Anything else is refused rather than overwritten.
 */
async function writeOciDir(store: Store, saved: SavedImage, target: string): Promise<void> {
  const state = directoryState(target)
  if (state === 'other' || (state === 'filled' && !existsSync(join(target, 'oci-layout')))) {
    throw new InvalidArgumentError(`${target} exists and is not an OCI image layout: refusing to write into it`, {hint: 'Give a new or empty directory with -o'})
  }
  const {blobs, descriptor} = ociLayout(store, saved)
  if (state === 'filled') {
    const indexPath = join(target, 'index.json')
    const index = readIndex(indexPath)
    await mkdir(join(target, 'blobs', 'sha256'), {recursive: true})
    for (const blob of blobs) await writeBlobFile(join(target, 'blobs', 'sha256', digestHex(blob.digest)), blob)
    const name = descriptor.annotations?.[REF_NAME_ANNOTATION]
    const kept = index.manifests.filter(d => name === undefined || d.annotations?.[REF_NAME_ANNOTATION] !== name)
    const present = kept.some(d => d.digest === descriptor.digest && d.annotations?.[REF_NAME_ANNOTATION] === name)
    await writeFileAtomic(indexPath, ociIndex(present ? kept : [...kept, descriptor]))
    return
  }
  await buildDirectory(target, async dir => {
    await mkdir(join(dir, 'blobs', 'sha256'), {recursive: true})
    for (const blob of blobs) await writeBlobFile(join(dir, 'blobs', 'sha256', digestHex(blob.digest)), blob)
    await writeFileOnce(join(dir, 'oci-layout'), OCI_LAYOUT)
    await writeFileOnce(join(dir, 'index.json'), ociIndex([descriptor]))
  })
}

function readIndex(path: string): ImageIndexManifest {
  try {
    const index = JSON.parse(readFileSync(path, 'utf8')) as ImageIndexManifest
    if (!Array.isArray(index.manifests)) throw new Error('no manifests array')
    return index
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return {schemaVersion: 2, manifests: []}
    throw new InvalidArgumentError(`reading ${path}: ${(err as Error).message}`)
  }
}

/**
 * containers/image's dir: layout with a Docker schema2 manifest. Layers are
 * written uncompressed (as Podman writes them from its store) or gzipped, and
 * named by the digest of what was written, so each is hashed on the way.
 */
async function writeDockerDir(store: Store, saved: SavedImage, target: string, compress: boolean): Promise<void> {
  const state = directoryState(target)
  if (state === 'other' || (state === 'filled' && !existsSync(join(target, 'version')))) {
    throw new InvalidArgumentError(`${target} is not a containers image directory: refusing to overwrite it`, {hint: 'Give a new or empty directory with -o'})
  }
  await buildDirectory(target, async dir => {
    const layers: Array<{mediaType: string; size: number; digest: string}> = []
    for (const layer of saved.layers) {
      const staged = join(dir, '.layer')
      const digester = new DigestingStream()
      const source = layerTarSource(store, layer)
      const file = createWriteStream(staged, {flags: 'wx', mode: 0o644})
      const verified = [await source.open(), new VerifyingStream(source)] as const
      if (compress) await pipeline(...verified, (await import('node:zlib')).createGzip(), digester, file)
      else await pipeline(...verified, digester, file)
      const digest = digester.digest()
      await rename(staged, join(dir, digestHex(digest)))
      layers.push({mediaType: compress ? MEDIA.dockerLayerGzip : MEDIA.dockerLayer, size: digester.size, digest})
    }
    await writeFileOnce(join(dir, saved.image.id), saved.config)
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: {mediaType: MEDIA.dockerConfig, size: saved.config.length, digest: `sha256:${saved.image.id}`},
      layers,
    }
    await writeFileOnce(join(dir, 'manifest.json'), jsonBytes(manifest))
    await writeFileOnce(join(dir, 'version'), DIR_VERSION)
  })
}

// ---------------------------------------------------------------------------
// Targets

type DirectoryState = 'absent' | 'empty' | 'filled' | 'other'

/** 'filled' is a non-empty directory, for the caller to recognise as its own format or refuse; 'other' is not a directory. */
function directoryState(path: string): DirectoryState {
  let st: Stats
  try {
    st = statSync(path)
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'absent'
    throw err
  }
  if (!st.isDirectory()) return 'other'
  return readdirSync(path).length === 0 ? 'empty' : 'filled'
}

/**
 * Build a directory beside `target` and move it into place only when it is
 * complete, so a failed save leaves no half layout under the target's name.
 * An old target (empty, or of the same format) is replaced.
 */
async function buildDirectory(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(target), {recursive: true})
  const temp = tempPathFor(target)
  await mkdir(temp, {mode: 0o755})
  try {
    await fill(temp)
    if (existsSync(target)) {
      const old = tempPathFor(target)
      await rename(target, old)
      await rename(temp, target)
      await rm(old, {recursive: true, force: true})
    } else {
      await rename(temp, target)
    }
    await syncDir(dirname(target))
  } catch (err) {
    await rm(temp, {recursive: true, force: true})
    throw err
  }
}

async function writeFileOnce(path: string, data: Buffer | string): Promise<void> {
  const fh = await open(path, 'wx', 0o644)
  try {
    await fh.writeFile(data)
  } finally {
    await fh.close()
  }
}

/** A content-addressed blob in a layout: skipped when present, else written beside and renamed. */
async function writeBlobFile(path: string, blob: OciBlob): Promise<void> {
  try {
    if (statSync(path).size === blob.size) return
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err
  }
  const temp = tempPathFor(path)
  try {
    if (blob.data) await writeFileOnce(temp, blob.data)
    else await pipeline(await blob.source!.open(), new VerifyingStream(blob.source!), createWriteStream(temp, {flags: 'wx', mode: 0o644}))
    await rename(temp, path)
  } catch (err) {
    await rm(temp, {force: true})
    throw err
  }
}

/**
 * Write an archive to a stream, or to a file path through a temporary file
 * beside it that is renamed over the target only once complete. Device nodes
 * and FIFOs (-o /dev/stdout) are written in place: renaming over them would
 * replace the node.
 */
async function writeArchive(output: Writable | string, write: (out: Writable) => Promise<void>): Promise<void> {
  if (typeof output !== 'string') {
    await write(output)
    await flush(output)
    return
  }
  let st: Stats | undefined
  try {
    st = statSync(output)
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err
  }
  if (st?.isDirectory()) throw new InvalidArgumentError(`${output} is a directory`, {hint: 'Give a file name with -o, or use --format oci-dir or docker-dir'})
  if (st && !st.isFile()) {
    const out = createWriteStream(output)
    try {
      await write(out)
      await closeStream(out)
    } catch (err) {
      abandon(out)
      throw err
    }
    return
  }
  if (!st && !existsSync(dirname(output))) throw new InvalidArgumentError(`saving to ${output}: directory ${dirname(output)} does not exist`)
  const temp = tempPathFor(output)
  // flush: the data reaches the disk before the rename makes it visible.
  const out = createWriteStream(temp, {flags: 'wx', mode: 0o644, flush: true})
  try {
    await write(out)
    await closeStream(out)
    await rename(temp, output)
  } catch (err) {
    abandon(out)
    await rm(temp, {force: true})
    throw err
  }
  await syncDir(dirname(output))
}

/** Stop a file stream after a failure; writes still queued fail with nobody left to hear it. */
function abandon(out: Writable): void {
  out.on('error', () => {})
  out.destroy()
}

/** End a file stream and wait until its descriptor is closed (and, with flush, synced). */
function closeStream(out: Writable): Promise<void> {
  if (out.closed) return Promise.resolve()
  return new Promise((resolve, reject) => {
    out.once('error', reject)
    out.once('close', resolve)
    out.end()
  })
}

/** Wait until everything written to a stream we do not own has been handed on. */
function flush(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => out.write('', err => (err ? reject(err) : resolve())))
}

// ---------------------------------------------------------------------------
// Tar writing

type PackStream = Readable & {entry(header: object, callback: (err?: Error | null) => void): Writable; entry(header: object, data: Buffer, callback: (err?: Error | null) => void): Writable; finalize(): void}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/** Stream `entries` as a tar to `out`, in name order, honouring backpressure on both sides. */
async function writeTar(entries: TarEntry[], out: Writable): Promise<void> {
  const {pack: createPack} = await import('tar-stream')
  const pack = createPack() as unknown as PackStream
  const pumping = pump(pack, out)
  pumping.catch(() => {})
  try {
    for (const entry of [...entries].sort((a, b) => compareNames(a.name, b.name))) await addEntry(pack, entry)
    pack.finalize()
  } catch (err) {
    pack.destroy(err as Error)
    await pumping.catch(() => {})
    throw err
  }
  await pumping
}

async function addEntry(pack: PackStream, entry: TarEntry): Promise<void> {
  const header = {
    name: entry.name,
    type: entry.type,
    mode: entry.type === 'file' ? 0o644 : entry.type === 'directory' ? 0o755 : 0o777,
    uid: 0,
    gid: 0,
    mtime: EPOCH,
    size: entry.data?.length ?? entry.source?.expected.size ?? 0,
    ...(entry.linkname !== undefined ? {linkname: entry.linkname} : {}),
  }
  let sink!: Writable
  const done = new Promise<void>((resolve, reject) => {
    const callback = (err?: Error | null): void => (err ? reject(err) : resolve())
    sink = entry.data ? pack.entry(header, entry.data, callback) : pack.entry(header, callback)
  })
  done.catch(() => {})
  // The entry's callback reports its failure; its stream's own error event would go unheard.
  sink.on('error', () => {})
  if (entry.source) {
    let stream: Readable | undefined
    try {
      stream = await entry.source.open()
      const hash = createHash('sha256')
      let size = 0
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk)
        size += chunk.length
        if (!sink.write(chunk)) await Promise.race([new Promise(resolve => sink.once('drain', resolve)), done])
      }
      verifyCopy(entry.source, `sha256:${hash.digest('hex')}`, size)
      sink.end()
    } catch (err) {
      stream?.destroy()
      sink.destroy(err as Error)
      throw err
    }
  }
  try {
    await done
  } catch (err) {
    if (err instanceof StorageError) throw err
    throw new StorageError(`writing ${entry.name} to the archive: ${(err as Error).message}`, {cause: err})
  }
}

/** Copy the tar stream to `out`; a failing `out` (EPIPE, ENOSPC) stops the packer. */
function pump(pack: PackStream, out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false
    const fail = (err: Error): void => {
      if (failed) return
      failed = true
      out.off('error', fail)
      pack.destroy(err)
      reject(err)
    }
    out.on('error', fail)
    const copy = async (): Promise<void> => {
      for await (const chunk of pack as AsyncIterable<Buffer>) {
        if (failed) return
        if (!out.write(chunk)) {
          await new Promise<void>(resume => {
            const go = (): void => {
              out.off('drain', go)
              out.off('error', go)
              resume()
            }
            out.on('drain', go)
            out.on('error', go)
          })
        }
      }
    }
    copy().then(
      () => {
        out.off('error', fail)
        if (!failed) resolve()
      },
      (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
    )
  })
}
