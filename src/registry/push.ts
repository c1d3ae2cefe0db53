/**
 * `tspod push`: a stored image to a registry.
 *
 * Layers are kept in the store as they came, `import`'s uncompressed. Each
 * layer goes out compressed as the target wants (gzip by default, zstd on
 * request): a stored blob that already has that compression is sent as it
 * is, anything else is recompressed into a temporary file first so that
 * digest and size are known before the upload. For every blob the registry
 * is asked first (HEAD); a blob it holds in another repository of the
 * same registry is mounted rather than uploaded; the rest go up in one PUT
 * when small, in PATCH chunks when large. The manifest goes last.
 */
import {createReadStream, createWriteStream} from 'node:fs'
import {rm, writeFile} from 'node:fs/promises'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {EngineConfig} from '../config/index.js'
import {InvalidArgumentError, RegistryError, StorageError} from '../errors/index.js'
import {lookupImage, repositoryOf} from '../image/lookup.js'
import {MEDIA, type Descriptor, type ImageConfig, type Manifest} from '../image/oci.js'
import {formatReference, normalizeReference, parseReference, referenceName, withDefaultTag, type NamedReference} from '../image/reference.js'
import {DigestingStream, sha256} from '../storage/hashing.js'
import type {Store} from '../storage/store.js'
import {debug} from '../util/log.js'
import {repositoryScope} from './auth.js'
import {drain, type RegistryClient} from './client.js'
import {runPool} from './pool.js'
import {ProgressStream, type TransferListener} from './progress.js'
import {openRegistryClient, type RegistryAccessOptions} from './session.js'

export type PushFormat = 'oci' | 'v2s2'
export type PushCompression = 'gzip' | 'zstd'

export interface PushOptions extends RegistryAccessOptions {
  format?: PushFormat
  compressionFormat?: PushCompression
  onEvent?: TransferListener
}

export interface PushReport {
  /** The digest of the manifest as pushed. */
  digest: string
  reference: string
}

/** Blobs up to this size go up in one PUT; bigger ones in chunks of CHUNK_SIZE. */
export const MONOLITHIC_LIMIT = 32 * 1024 * 1024
export const CHUNK_SIZE = 16 * 1024 * 1024
const POOL_SIZE = 3

interface OutgoingBlob {
  descriptor: Descriptor
  /** A file holding exactly the bytes the descriptor names. */
  path: string
  /** Removed afterwards: a recompressed copy under tmp/. */
  temporary: boolean
  what: 'blob' | 'config'
}

/** Where an image goes: `docker://` is the only transport; a short name goes to Docker Hub as with Podman. */
export function pushDestination(input: string): NamedReference {
  let name = input
  if (name.startsWith('docker://')) name = name.slice('docker://'.length)
  else if (/^(oci|oci-archive|docker-archive|docker-daemon|dir|containers-storage|ostree|sif):/.test(name)) {
    throw new InvalidArgumentError(`${input}: only the docker:// transport is supported`, {hint: 'Use tspod save for oci-archive and docker-archive'})
  }
  return withDefaultTag(normalizeReference(parseReference(name)))
}

function compressionOf(mediaType: string): PushCompression | 'none' {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip')) return 'gzip'
  if (mediaType.endsWith('+zstd')) return 'zstd'
  return 'none'
}

function layerMediaType(format: PushFormat, compression: PushCompression): string {
  if (format === 'v2s2') return MEDIA.dockerLayerGzip
  return compression === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayerGzip
}

export async function pushImage(config: EngineConfig, store: Store, source: string, destination: string | undefined, options: PushOptions): Promise<PushReport> {
  const image = lookupImage(store.readImages(), source, {searchRegistries: () => config.registries.unqualifiedSearchRegistries})
  const target = pushDestination(destination ?? source)
  const shown = formatReference(target)
  const manifest = store.readBlobJson<Manifest>(image.digest)
  const configBytes = store.readBlob(manifest.config.digest)
  const imageConfig = JSON.parse(configBytes.toString('utf8')) as ImageConfig
  const format: PushFormat = options.format ?? (image.manifestMediaType === MEDIA.dockerManifest ? 'v2s2' : 'oci')
  const compression: PushCompression = options.compressionFormat ?? 'gzip'
  if (format === 'v2s2' && compression === 'zstd') {
    throw new InvalidArgumentError('--compression-format zstd needs --format oci: Docker schema 2 manifests have no zstd layers')
  }
  if (manifest.layers.length !== image.layers.length) throw new StorageError(`image ${image.id}: the manifest and the store disagree on the layers`, {hint: 'Run: tspod system check'})
  const client = openRegistryClient(config, referenceName(target), options)
  const outgoing: OutgoingBlob[] = []
  try {
    options.onEvent?.({type: 'signatures'})
    for (const [i, stored] of manifest.layers.entries()) {
      outgoing.push(await prepareLayer(store, stored, image.layers[i]!, format, compression))
    }
    const configDescriptor: Descriptor = {mediaType: format === 'v2s2' ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: manifest.config.digest, size: configBytes.length}
    const mountFrom = mountCandidates(store, target)
    const tasks = outgoing.map(blob => () => uploadBlob(client, target, blob, mountFrom, options))
    await runPool(tasks, POOL_SIZE)
    await uploadBlob(client, target, {descriptor: configDescriptor, path: store.blobPath(manifest.config.digest), temporary: false, what: 'config'}, [], options)
    options.onEvent?.({type: 'manifest'})
    const out: Manifest = {
      schemaVersion: 2,
      mediaType: format === 'v2s2' ? MEDIA.dockerManifest : MEDIA.ociManifest,
      config: configDescriptor,
      layers: outgoing.map(b => b.descriptor),
      ...(format === 'oci' && manifest.annotations ? {annotations: manifest.annotations} : {}),
    }
    const bytes = Buffer.from(JSON.stringify(out))
    const digest = sha256(bytes)
    const res = await client.request(`/v2/${target.path}/manifests/${target.tag ?? target.digest}`, {
      method: 'PUT',
      headers: {'Content-Type': out.mediaType!, 'Content-Length': String(bytes.length)},
      body: () => bytes,
      scope: repositoryScope(target.path, ['pull', 'push']),
      what: `${shown}: manifest`,
    })
    await drain(res)
    debug(`pushed ${shown} as ${digest} (${imageConfig.architecture}/${imageConfig.os})`)
    return {digest, reference: shown}
  } finally {
    client.close()
    for (const blob of outgoing) if (blob.temporary) await rm(blob.path, {force: true})
  }
}

/** The layer's bytes as the target wants them: the stored blob when its compression fits, else a recompressed copy. */
async function prepareLayer(store: Store, stored: Descriptor, layerId: string, format: PushFormat, compression: PushCompression): Promise<OutgoingBlob> {
  const mediaType = layerMediaType(format, compression)
  const storedPath = store.blobPath(stored.digest)
  const have = compressionOf(stored.mediaType)
  if (have === compression) return {descriptor: {mediaType, digest: stored.digest, size: stored.size}, path: storedPath, temporary: false, what: 'blob'}
  if (!store.hasBlob(stored.digest)) throw new StorageError(`layer ${layerId}: blob ${stored.digest} is missing from the store`, {hint: 'Run: tspod system check --repair'})
  const {decompressStream, compressStream} = await compressionModule()
  const path = store.stagingPath('push')
  const digester = new DigestingStream()
  try {
    let input: Readable = createReadStream(storedPath)
    if (have !== 'none') input = decompressStream(input, have)
    await pipeline(input, compressStream(compression), digester, createWriteStream(path, {mode: 0o600}))
  } catch (err) {
    await rm(path, {force: true})
    throw new StorageError(`compressing layer ${layerId} with ${compression}: ${(err as Error).message}`, {cause: err})
  }
  return {descriptor: {mediaType, digest: digester.digest(), size: digester.size}, path, temporary: true, what: 'blob'}
}

async function compressionModule(): Promise<{decompressStream: (input: Readable, kind: PushCompression) => Readable; compressStream: (kind: PushCompression) => NodeJS.ReadWriteStream}> {
  const [{decompressStream}, {createGzip}, {spawn}, {Duplex}] = await Promise.all([import('../storage/compression.js'), import('node:zlib'), import('node:child_process'), import('node:stream')])
  return {
    decompressStream,
    compressStream: kind => {
      if (kind === 'gzip') return createGzip({level: 6, chunkSize: 256 * 1024})
      const child = spawn('zstd', ['-q', '-c', '-3', '-T0'], {stdio: ['pipe', 'pipe', 'inherit']})
      const duplex = Duplex.from({writable: child.stdin, readable: child.stdout})
      child.on('error', err => duplex.destroy(new StorageError(`zstd: ${err.message}`, {hint: 'apt-get install zstd'})))
      child.on('close', code => {
        if (code !== 0 && code !== null) duplex.destroy(new StorageError(`zstd exited with status ${code}`))
      })
      return duplex
    },
  }
}

/** Other repositories of the same registry that the store knows this image's blobs from. */
function mountCandidates(store: Store, target: NamedReference): string[] {
  const out = new Set<string>()
  for (const image of store.readImages()) {
    for (const name of image.names) {
      const repo = repositoryOf(name)
      const slash = repo.indexOf('/')
      if (repo.slice(0, slash) === target.domain && repo.slice(slash + 1) !== target.path) out.add(repo.slice(slash + 1))
    }
  }
  return [...out].slice(0, 3)
}

async function uploadBlob(client: RegistryClient, target: NamedReference, blob: OutgoingBlob, mountFrom: string[], options: PushOptions): Promise<void> {
  const {digest, size} = blob.descriptor
  const path = target.path
  const scope = repositoryScope(path, ['pull', 'push'])
  const what = `${formatReference(target)}: blob ${digest}`
  const head = await client.request(`/v2/${path}/blobs/${digest}`, {method: 'HEAD', scope, what, accept: [404]})
  await drain(head)
  if (head.status === 200) {
    options.onEvent?.({type: 'blob-skip', digest, what: blob.what, reason: 'exists'})
    return
  }
  for (const from of mountFrom) {
    const res = await client.request(`/v2/${path}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {method: 'POST', scope, what, accept: [202, 401, 403, 404]})
    await drain(res)
    if (res.status === 201) {
      options.onEvent?.({type: 'blob-skip', digest, what: blob.what, reason: 'mounted'})
      return
    }
    // 202: the registry opened an ordinary upload instead; it expires unused.
  }
  options.onEvent?.({type: 'blob-start', digest, size, what: blob.what})
  const retries = options.retry ?? 3
  for (let attempt = 0; ; attempt++) {
    try {
      await uploadOnce(client, path, blob, scope, what, options)
      break
    } catch (err) {
      if (attempt >= retries || (err instanceof RegistryError && !/answers 5\d\d|contacting/.test(err.message))) throw err
      debug(`${what}: ${(err as Error).message}; uploading it again`)
      await new Promise(resolve => setTimeout(resolve, (options.retryDelayMs ?? 1000) * 2 ** attempt))
    }
  }
  options.onEvent?.({type: 'blob-done', digest, what: blob.what})
}

async function uploadOnce(client: RegistryClient, path: string, blob: OutgoingBlob, scope: string, what: string, options: PushOptions): Promise<void> {
  const {digest, size} = blob.descriptor
  const start = await client.request(`/v2/${path}/blobs/uploads/`, {method: 'POST', headers: {'Content-Length': '0'}, scope, what})
  await drain(start)
  let location = uploadLocation(start, what)
  const progress = (from: number, to: number): Readable => {
    const stream = createReadStream(blob.path, {start: from, end: to - 1, highWaterMark: 1024 * 1024})
    const counted = stream.pipe(new ProgressStream(digest, size, options.onEvent))
    stream.on('error', err => counted.destroy(err))
    return counted
  }
  if (size > MONOLITHIC_LIMIT) {
    for (let offset = 0; offset < size; offset += CHUNK_SIZE) {
      const end = Math.min(offset + CHUNK_SIZE, size)
      const res = await client.request(location, {
        method: 'PATCH',
        headers: {'Content-Type': 'application/octet-stream', 'Content-Length': String(end - offset), 'Content-Range': `${offset}-${end - 1}`},
        body: () => progress(offset, end),
        scope,
        what,
        once: true,
      })
      await drain(res)
      location = uploadLocation(res, what)
    }
    const done = await client.request(withDigest(location, digest), {method: 'PUT', headers: {'Content-Length': '0'}, scope, what, once: true})
    await drain(done)
    return
  }
  const res = await client.request(withDigest(location, digest), {
    method: 'PUT',
    headers: {'Content-Type': 'application/octet-stream', 'Content-Length': String(size)},
    body: () => (size === 0 ? Buffer.alloc(0) : progress(0, size)),
    scope,
    what,
    once: true,
  })
  await drain(res)
}

function uploadLocation(res: {headers: {get(name: string): string | null}; url: string}, what: string): string {
  const location = res.headers.get('location')
  if (!location) throw new RegistryError(`${what}: the registry gave no upload location`)
  return new URL(location, res.url).toString()
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location)
  url.searchParams.set('digest', digest)
  return url.toString()
}

/** --digestfile: the digest alone, as Podman writes it. */
export async function writeDigestFile(path: string, digest: string): Promise<void> {
  await writeFile(path, digest)
}
