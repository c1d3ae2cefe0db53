/**
 * `tspod load`: images into the store from a docker-archive or an
 * oci-archive (either may be compressed as a whole with gzip, zstd, bzip2 or
 * xz), or from an oci-dir or docker-dir directory.
 *
 * A tarball's members come in any order and layers can be large, so the
 * archive is first spooled to a directory under the store's tmp/ (streamed,
 * never held in memory), then read like a directory. Every image goes through
 * stageLayer/stageBytes and commitImage like a pull: blobs are verified
 * against their digests, layers the store has (by ChainID) are not extracted
 * again, and a failure leaves nothing behind.
 *
 * Names follow Podman: docker-archive RepoTags and OCI ref-name annotations
 * are qualified as `tspod tag` would (a short name goes under localhost/, a
 * bare tag is a short name); an image without one is loaded nameless and
 * reported as `sha256:<id>`.
 */
import {createReadStream, createWriteStream, statSync} from 'node:fs'
import {mkdir, open, readFile, rm} from 'node:fs/promises'
import {dirname, join, posix} from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {InvalidArgumentError, StorageError, TspodError} from '../errors/index.js'
import {digestHex, isDigest} from '../storage/digest.js'
import {DigestingStream, sha256} from '../storage/hashing.js'
import type {ImageRecord, Store} from '../storage/store.js'
import {REF_NAME_ANNOTATION} from './archive-save.js'
import {qualifyLocalName} from './lookup.js'
import {MEDIA, hostPlatform, type Descriptor, type ImageConfig, type ImageIndexManifest, type Manifest} from './oci.js'
import {parseReference} from './reference.js'
import {commitImage, discardStaged, stageBytes, stageLayer, type StagedBlob, type StagedLayer} from './stage.js'

export interface LoadOptions {
  rootless: boolean
  onWarning?: (message: string) => void
}

export interface LoadReport {
  /** What Podman prints per image: each name it was given, or `sha256:<id>` for one loaded without a name. */
  names: string[]
  /** The loaded images' IDs, in archive order. */
  ids: string[]
}

/** The annotation Docker 25+ and containerd name an image by (Podman prefers it to the OCI ref name). */
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name'
/** JSON members (manifests, configs, index) are read into memory; nothing legitimate comes near this. */
const MAX_JSON_BYTES = 16 * 1024 * 1024
const MAX_LINK_HOPS = 32
const CORRUPT_HINT = 'The archive is corrupt or incomplete; nothing was stored'

/** Load every image of a tarball read from `input`. */
export async function loadImages(store: Store, input: Readable, options: LoadOptions): Promise<LoadReport> {
  const spool = store.stagingPath('load')
  await mkdir(spool, {recursive: true, mode: 0o700})
  try {
    const links = await spoolArchive(input, spool)
    return await loadLayout(store, new ArchiveFiles(spool, links), options)
  } finally {
    await rm(spool, {recursive: true, force: true})
  }
}

/** Load every image of an oci-dir or docker-dir directory (or an unpacked archive). */
export async function loadImagesFromDirectory(store: Store, dir: string, options: LoadOptions): Promise<LoadReport> {
  return loadLayout(store, new ArchiveFiles(dir, new Map()), options)
}

// ---------------------------------------------------------------------------
// Spooling

/** A member's path relative to the archive root ('' for the root), or undefined if it escapes. */
function archivePath(name: string): string | undefined {
  let path = posix.normalize(name)
  while (path.startsWith('/')) path = path.slice(1)
  while (path.endsWith('/')) path = path.slice(0, -1)
  if (path === '.' || path === '') return ''
  if (path === '..' || path.startsWith('../')) return undefined
  return path
}

/**
 * Unpack the (possibly compressed) tar into `dir`: regular files and
 * directories only. Links are recorded, not created, and resolved inside the
 * archive when read, so no member can reach outside the spool.
 */
async function spoolArchive(input: Readable, dir: string): Promise<Map<string, string>> {
  const [{MAGIC_LENGTH, decompressStream, detectCompression, peekStream}, {extract: createExtract}] = await Promise.all([
    import('../storage/compression.js'),
    import('tar-stream'),
  ])
  const {head, stream} = await peekStream(input, MAGIC_LENGTH)
  const tar = decompressStream(stream, detectCompression(head))
  const extract = createExtract()
  const links = new Map<string, string>()
  await new Promise<void>((resolve, reject) => {
    let failed = false
    const fail = (err: unknown): void => {
      if (failed) return
      failed = true
      tar.unpipe(extract)
      tar.destroy()
      extract.destroy()
      reject(asArchiveError(err))
    }
    extract.on('entry', (header, body, next) => {
      spoolEntry(dir, links, header, body as unknown as AsyncIterable<Buffer>).then(
        () => next(),
        (err: unknown) => {
          body.destroy()
          fail(err)
        },
      )
    })
    // The tar ends before its stream may: a compressed archive cut short must still fail.
    extract.on('finish', () => {
      if (failed) return
      if (tar.readableEnded) return resolve()
      tar.unpipe(extract)
      tar.once('end', () => {
        if (!failed) resolve()
      })
      tar.resume()
    })
    extract.on('error', fail)
    tar.on('error', fail)
    tar.pipe(extract)
  })
  return links
}

interface EntryHeader {
  name: string
  type?: string | null
  linkname?: string | null
}

async function spoolEntry(dir: string, links: Map<string, string>, header: EntryHeader, body: AsyncIterable<Buffer>): Promise<void> {
  const name = archivePath(header.name)
  if (name === undefined) throw new InvalidArgumentError(`reading the archive: member "${header.name}" points outside the archive`)
  const type = header.type ?? 'file'
  if ((type === 'file' || type === 'contiguous-file') && name !== '') {
    links.delete(name)
    const path = join(dir, name)
    await mkdir(dirname(path), {recursive: true, mode: 0o700})
    const fh = await open(path, 'w', 0o600)
    try {
      for await (const chunk of body) await fh.write(chunk)
    } finally {
      await fh.close()
    }
    return
  }
  if (type === 'directory') await mkdir(join(dir, name), {recursive: true, mode: 0o700})
  else if (type === 'symlink' && header.linkname) {
    const target = header.linkname.startsWith('/') ? header.linkname : posix.join(posix.dirname(name), header.linkname)
    links.set(name, target)
  } else if (type === 'link' && header.linkname) links.set(name, header.linkname)
  for await (const _ of body) {
    // Drained so the parser moves on; such members carry no data we use.
  }
}

function asArchiveError(err: unknown): TspodError {
  if (err instanceof TspodError) return err
  const e = err as NodeJS.ErrnoException
  if (typeof e?.code === 'string') return new StorageError(`spooling the archive: ${e.message}`, {cause: err})
  return new InvalidArgumentError(`reading the archive: ${e instanceof Error ? e.message : String(err)}`, {cause: err})
}

/** The members of an unpacked archive or a layout directory, with the archive's own links followed. */
class ArchiveFiles {
  constructor(readonly root: string, private readonly links: Map<string, string>) {}

  /** The file a member name leads to, or undefined when there is none. */
  find(name: string): string | undefined {
    let rel = archivePath(name)
    for (let hops = 0; rel !== undefined && this.links.has(rel); hops++) {
      if (hops === MAX_LINK_HOPS) return undefined
      rel = archivePath(this.links.get(rel)!)
    }
    if (rel === undefined || rel === '') return undefined
    const path = join(this.root, rel)
    try {
      return statSync(path).isFile() ? path : undefined
    } catch {
      return undefined
    }
  }

  require(name: string, what: string): string {
    const path = this.find(name)
    if (!path) throw new StorageError(`${what}: ${name} is missing from the archive`, {hint: CORRUPT_HINT})
    return path
  }

  async readBytes(name: string, what: string): Promise<Buffer> {
    const path = this.require(name, what)
    if (statSync(path).size > MAX_JSON_BYTES) throw new InvalidArgumentError(`${what}: ${name} is larger than ${MAX_JSON_BYTES} bytes`)
    return readFile(path)
  }
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T
  } catch (err) {
    throw new InvalidArgumentError(`${what}: invalid JSON: ${(err as Error).message}`)
  }
}

// ---------------------------------------------------------------------------
// Formats

async function loadLayout(store: Store, files: ArchiveFiles, options: LoadOptions): Promise<LoadReport> {
  // Podman tries OCI first, so an archive with both (Docker 25+ writes both) loads as OCI.
  if (files.find('oci-layout') && files.find('index.json')) return loadOciLayout(store, files, options)
  if (files.find('manifest.json')) {
    const manifest = parseJson<unknown>(await files.readBytes('manifest.json', 'docker-archive'), 'manifest.json')
    if (Array.isArray(manifest)) return loadDockerArchive(store, files, manifest as DockerArchiveItem[], options)
    if (files.find('version')) return loadDockerDir(store, files, options)
  }
  throw new InvalidArgumentError('payload does not match any of the supported image formats: it has neither manifest.json (docker-archive) nor oci-layout and index.json (oci-archive)')
}

interface DockerArchiveItem {
  Config?: unknown
  RepoTags?: unknown
  Layers?: unknown
}

async function loadDockerArchive(store: Store, files: ArchiveFiles, items: DockerArchiveItem[], options: LoadOptions): Promise<LoadReport> {
  if (items.length === 0) throw new InvalidArgumentError('docker-archive: manifest.json lists no images')
  const report: LoadReport = {names: [], ids: []}
  for (const [index, item] of items.entries()) {
    const what = `docker-archive image ${index}`
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every(l => typeof l === 'string')) {
      throw new InvalidArgumentError(`${what}: manifest.json entry needs a Config name and a Layers list`)
    }
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.map(tag => repoTagName(String(tag))) : []
    const record = await loadDockerArchiveImage(store, files, item.Config, item.Layers as string[], tags, what, options)
    addToReport(report, record.id, tags)
  }
  return report
}

/** A RepoTag as Podman stores it: `busybox:1` is `localhost/busybox:1`; a name without a tag is refused. */
function repoTagName(tag: string): string {
  const ref = parseReference(tag)
  if (ref.tag === undefined) throw new InvalidArgumentError(`docker-archive: RepoTag "${tag}" does not contain a tag`)
  return qualifyLocalName(tag)
}

/**
 * One docker-archive image. Its layers are named by diffID, not by a blob
 * digest, so each is checked against the config's rootfs.diff_ids after
 * staging. Docker archives carry no registry manifest: a Docker schema2 one
 * is made up naming the uncompressed layers, as Podman does, so the image ID
 * (the config digest) is the same as Podman's.
 */
async function loadDockerArchiveImage(store: Store, files: ArchiveFiles, configName: string, layerNames: string[], names: string[], what: string, options: LoadOptions): Promise<ImageRecord> {
  const configBytes = await files.readBytes(configName, what)
  const config = parseJson<ImageConfig>(configBytes, `${what}: ${configName}`)
  const diffIds = diffIdsOf(config, layerNames.length, `${what}: ${configName}`)
  const layers: StagedLayer[] = []
  const blobs: StagedBlob[] = []
  try {
    const configBlob = await stageBytes(store, configBytes)
    blobs.push(configBlob)
    const descriptors: Array<{mediaType: string; size: number; digest: string}> = []
    let parent: string | undefined
    for (const [i, diffId] of diffIds.entries()) {
      const chainId = parent ? sha256(`${parent} ${diffId}`) : diffId
      const source = (): string => files.require(layerNames[i], what)
      let layer: StagedLayer
      if (store.hasLayer(chainId)) {
        const record = store.readLayer(chainId)
        const blob = store.hasBlob(record.digest) ? {digest: record.digest, size: record.compressedSize} : await stageBlobCopy(store, source(), {digest: diffId}, true)
        layer = {record, blob, skippedDevices: []}
        layers.push(layer)
      } else {
        layer = await stageLayer(store, createReadStream(source()), {parent, mediaType: MEDIA.dockerLayer, storeUncompressed: true, rootless: options.rootless, onWarning: options.onWarning})
        layers.push(layer)
        if (layer.record.diffId !== diffId) {
          throw new StorageError(`${what}: layer ${layerNames[i]} has diffID ${layer.record.diffId}, but the image config lists ${diffId}`, {hint: CORRUPT_HINT})
        }
      }
      const plain = layer.blob.digest === layer.record.diffId
      descriptors.push({mediaType: plain ? MEDIA.dockerLayer : dockerLayerMediaType(layer.record.mediaType), size: layer.blob.size, digest: layer.blob.digest})
      parent = chainId
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: {mediaType: MEDIA.dockerConfig, size: configBytes.length, digest: configBlob.digest},
      layers: descriptors,
    }
    const manifestBlob = await stageBytes(store, JSON.stringify(manifest))
    blobs.push(manifestBlob)
    return await commitImage(store, {config: configBlob, manifest: manifestBlob, manifestMediaType: MEDIA.dockerManifest, layers, names, created: config.created ?? new Date().toISOString()})
  } catch (err) {
    await discardStaged(store, layers, blobs)
    throw err
  }
}

/** A layer's media type in a Docker schema2 manifest (zstd has no Docker name and keeps its OCI one). */
function dockerLayerMediaType(mediaType: string): string {
  if (mediaType === MEDIA.ociLayer) return MEDIA.dockerLayer
  if (mediaType === MEDIA.ociLayerGzip) return MEDIA.dockerLayerGzip
  return mediaType
}

function diffIdsOf(config: ImageConfig, layerCount: number, what: string): string[] {
  const diffIds = config?.rootfs?.diff_ids
  if (!Array.isArray(diffIds) || !diffIds.every(d => typeof d === 'string' && isDigest(d))) {
    throw new InvalidArgumentError(`${what}: the image config has no valid rootfs.diff_ids`)
  }
  if (diffIds.length !== layerCount) throw new InvalidArgumentError(`${what}: inconsistent layer count: ${layerCount} in the manifest, ${diffIds.length} in the config`)
  return diffIds
}

async function loadOciLayout(store: Store, files: ArchiveFiles, options: LoadOptions): Promise<LoadReport> {
  const layout = parseJson<{imageLayoutVersion?: unknown}>(await files.readBytes('oci-layout', 'oci-archive'), 'oci-layout')
  if (typeof layout.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
    throw new InvalidArgumentError(`oci-archive: unsupported OCI image layout version ${JSON.stringify(layout.imageLayoutVersion)}`)
  }
  const index = parseJson<ImageIndexManifest>(await files.readBytes('index.json', 'oci-archive'), 'index.json')
  if (!Array.isArray(index.manifests)) throw new InvalidArgumentError('oci-archive: index.json has no manifests list')
  const blobName = (digest: string): string => `blobs/sha256/${digestHex(digest)}`
  const report: LoadReport = {names: [], ids: []}
  for (const descriptor of index.manifests) {
    const target = await resolveImageManifest(files, blobName, descriptor, 0)
    if (!target) {
      options.onWarning?.(`skipping ${descriptor.digest} in index.json: ${descriptor.mediaType} is not an image`)
      continue
    }
    const name = nameFromAnnotations(descriptor.annotations)
    const names = name === undefined ? [] : [name]
    const record = await loadManifestImage(store, files, blobName, target, names, `oci-archive image ${descriptor.digest}`, options)
    addToReport(report, record.id, names)
  }
  if (report.ids.length === 0) throw new InvalidArgumentError('oci-archive: index.json lists no images')
  return report
}

async function loadDockerDir(store: Store, files: ArchiveFiles, options: LoadOptions): Promise<LoadReport> {
  const bytes = await files.readBytes('manifest.json', 'docker-dir')
  const target = {bytes, digest: sha256(bytes), mediaType: parseJson<Manifest>(bytes, 'manifest.json').mediaType ?? MEDIA.dockerManifest}
  const record = await loadManifestImage(store, files, digest => digestHex(digest), target, [], 'docker-dir image', options)
  const report: LoadReport = {names: [], ids: []}
  addToReport(report, record.id, [])
  return report
}

/** As Podman: containerd's name annotation wins over the OCI ref name; either is qualified like a tag. */
function nameFromAnnotations(annotations: Record<string, string> | undefined): string | undefined {
  const name = annotations?.[CONTAINERD_NAME_ANNOTATION] || annotations?.[REF_NAME_ANNOTATION]
  if (!name) return undefined
  try {
    return qualifyLocalName(name)
  } catch (err) {
    throw new InvalidArgumentError(`oci-archive: image name "${name}" in index.json: ${(err as Error).message}`)
  }
}

function addToReport(report: LoadReport, id: string, names: string[]): void {
  report.ids.push(id)
  report.names.push(...(names.length > 0 ? names : [`sha256:${id}`]))
}

interface ManifestBlob {
  bytes: Buffer
  digest: string
  mediaType: string
}

function checkDigest(digest: unknown, what: string): string {
  if (typeof digest !== 'string' || !isDigest(digest)) throw new InvalidArgumentError(`${what}: unsupported or invalid digest ${JSON.stringify(digest)}`)
  return digest
}

async function readVerified(files: ArchiveFiles, name: string, descriptor: {digest: string; size?: number}, what: string): Promise<Buffer> {
  const bytes = await files.readBytes(name, what)
  const digest = sha256(bytes)
  if (digest !== descriptor.digest) throw new StorageError(`${what}: blob ${descriptor.digest} has digest ${digest}`, {hint: CORRUPT_HINT})
  if (descriptor.size !== undefined && descriptor.size !== bytes.length) {
    throw new StorageError(`${what}: blob ${descriptor.digest} has ${bytes.length} bytes, expected ${descriptor.size}`, {hint: CORRUPT_HINT})
  }
  return bytes
}

const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerManifestList])
const MANIFEST_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest])

/**
 * The image manifest a descriptor leads to; through a nested index, the
 * entry for this host's platform. Undefined for what is not an image.
 */
async function resolveImageManifest(files: ArchiveFiles, blobName: (digest: string) => string, descriptor: Descriptor, depth: number): Promise<ManifestBlob | undefined> {
  const digest = checkDigest(descriptor.digest, 'index.json')
  const bytes = await readVerified(files, blobName(digest), {digest, size: descriptor.size}, 'oci-archive manifest')
  const parsed = parseJson<Partial<Manifest & ImageIndexManifest>>(bytes, `manifest ${digest}`)
  const mediaType = descriptor.mediaType || parsed.mediaType || ''
  if (INDEX_TYPES.has(mediaType) || (!mediaType && Array.isArray(parsed.manifests))) {
    if (depth > 2 || !Array.isArray(parsed.manifests)) return undefined
    const host = hostPlatform()
    const chosen = parsed.manifests.find(m => m.platform?.os === host.os && m.platform?.architecture === host.architecture)
      ?? (parsed.manifests.length === 1 && !parsed.manifests[0].platform ? parsed.manifests[0] : undefined)
    if (!chosen) throw new InvalidArgumentError(`oci-archive: index ${digest} has no image for ${host.os}/${host.architecture}`)
    return resolveImageManifest(files, blobName, chosen, depth + 1)
  }
  if (MANIFEST_TYPES.has(mediaType) || (!mediaType && parsed.config && Array.isArray(parsed.layers))) {
    return {bytes, digest, mediaType: mediaType || MEDIA.ociManifest}
  }
  return undefined
}

/** An image whose registry manifest is at hand (OCI layouts, docker-dir): the manifest and its blobs are kept as they are. */
async function loadManifestImage(store: Store, files: ArchiveFiles, blobName: (digest: string) => string, target: ManifestBlob, names: string[], what: string, options: LoadOptions): Promise<ImageRecord> {
  const manifest = parseJson<Manifest>(target.bytes, `${what}: manifest`)
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new InvalidArgumentError(`${what}: the manifest has no config or no layers list`)
  const configDigest = checkDigest(manifest.config.digest, `${what}: config`)
  const configBytes = await readVerified(files, blobName(configDigest), {digest: configDigest, size: manifest.config.size}, `${what}: config`)
  const config = parseJson<ImageConfig>(configBytes, `${what}: config`)
  const diffIds = diffIdsOf(config, manifest.layers.length, what)
  const layers: StagedLayer[] = []
  const blobs: StagedBlob[] = []
  try {
    const configBlob = await stageBytes(store, configBytes, configDigest)
    blobs.push(configBlob)
    const manifestBlob = await stageBytes(store, target.bytes, target.digest)
    blobs.push(manifestBlob)
    let parent: string | undefined
    for (const [i, descriptor] of manifest.layers.entries()) {
      const digest = checkDigest(descriptor.digest, `${what}: layer ${i}`)
      const expected = {digest, size: descriptor.size}
      const chainId = parent ? sha256(`${parent} ${diffIds[i]}`) : diffIds[i]
      const source = (): string => files.require(blobName(digest), `${what}: layer ${digest}`)
      if (store.hasLayer(chainId)) {
        const record = store.readLayer(chainId)
        const blob = store.hasBlob(digest) ? {digest, size: descriptor.size} : await stageBlobCopy(store, source(), expected, false)
        layers.push({record, blob, skippedDevices: []})
      } else {
        const layer = await stageLayer(store, createReadStream(source()), {parent, mediaType: descriptor.mediaType, rootless: options.rootless, onWarning: options.onWarning})
        layers.push(layer)
        checkBlob(layer.blob, expected)
        if (layer.record.diffId !== diffIds[i]) {
          throw new StorageError(`${what}: layer ${digest} has diffID ${layer.record.diffId}, but the image config lists ${diffIds[i]}`, {hint: CORRUPT_HINT})
        }
      }
      parent = chainId
    }
    return await commitImage(store, {config: configBlob, manifest: manifestBlob, manifestMediaType: target.mediaType, layers, names, created: config.created ?? new Date().toISOString()})
  } catch (err) {
    await discardStaged(store, layers, blobs)
    throw err
  }
}

/**
 * The staged blob is what the manifest names. (Checked here rather than
 * through stageLayer's `expected`, whose check reads a digest stream twice.)
 */
function checkBlob(blob: StagedBlob, expected: {digest: string; size?: number}): void {
  if (blob.digest !== expected.digest) throw new StorageError(`blob ${expected.digest}: content has digest ${blob.digest}`, {hint: CORRUPT_HINT})
  if (expected.size !== undefined && blob.size !== expected.size) {
    throw new StorageError(`blob ${expected.digest}: size ${blob.size} does not match the expected ${expected.size}`, {hint: CORRUPT_HINT})
  }
}

/**
 * Stage a layer blob without extracting it, for a layer the store has under
 * another blob: the image's manifest names this one, so it must be stored.
 */
async function stageBlobCopy(store: Store, source: string, expected: {digest: string; size?: number}, decompress: boolean): Promise<StagedBlob> {
  const path = store.stagingPath('blob')
  const digester = new DigestingStream()
  try {
    let input: Readable = createReadStream(source)
    if (decompress) {
      const {MAGIC_LENGTH, decompressStream, detectCompression, peekStream} = await import('../storage/compression.js')
      const {head, stream} = await peekStream(input, MAGIC_LENGTH)
      input = decompressStream(stream, detectCompression(head))
    }
    await pipeline(input, digester, createWriteStream(path, {mode: 0o600}))
    const blob = {digest: digester.digest(), size: digester.size, path}
    checkBlob(blob, expected)
    return blob
  } catch (err) {
    await rm(path, {force: true})
    throw err
  }
}
