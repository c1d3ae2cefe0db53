/**
 * `tspod push`: a stored image to a registry.
 *
 * Layers are kept in the store as they came, `import`'s uncompressed. Each
 * layer goes out compressed as the target wants (gzip by default, zstd on
 * request): a stored blob that already has that compression is sent as it
 * is. Anything else is looked up in the blob-info cache first (DiffID → the
 * compressed digest of an earlier push): the registry is asked for that
 * digest, and the compressed copy the store kept is sent when the registry
 * lacks it. Only a layer never compressed before is compressed, and then
 * compressing, hashing, keeping the copy and uploading happen in one pass,
 * the upload streaming while the compressor works. For a blob of known
 * digest the registry is asked first (HEAD); one it holds in another
 * repository of the same registry is mounted rather than uploaded; the rest
 * go up in one PUT when small, in PATCH chunks when large. An upload whose
 * PATCH fails asks the registry how much it has and goes on from there.
 * Layers and the config go up concurrently; the manifest last.
 */
import {createReadStream, createWriteStream} from 'node:fs'
import {rm, writeFile} from 'node:fs/promises'
import {PassThrough, Writable, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {EngineConfig} from '../config/index.js'
import {InvalidArgumentError, RegistryError, StorageError, TspodError} from '../errors/index.js'
import {lookupImage, repositoryOf} from '../image/lookup.js'
import {MEDIA, type Descriptor, type ImageConfig, type Manifest} from '../image/oci.js'
import {formatReference, normalizeReference, parseReference, referenceName, withDefaultTag, type NamedReference} from '../image/reference.js'
import {DigestingStream, sha256} from '../storage/hashing.js'
import type {Store} from '../storage/store.js'
import {debug} from '../util/log.js'
import {repositoryScope} from './auth.js'
import {lookupBlobInfo, recordBlobInfo} from './blob-info-cache.js'
import {drain, type FetchResponse, type RegistryClient} from './client.js'
import {runPool} from './pool.js'
import {ProgressStream, type TransferListener} from './progress.js'
import {openRegistryClient, type RegistryAccessOptions} from './session.js'

export type PushFormat = 'oci' | 'v2s2'
export type PushCompression = 'gzip' | 'zstd'

export interface PushOptions extends RegistryAccessOptions {
  format?: PushFormat
  compressionFormat?: PushCompression
  /** Put the manifest by its digest instead of the destination's tag (the images of a manifest list). */
  byDigest?: boolean
  onEvent?: TransferListener
}

export interface PushReport {
  /** The digest of the manifest as pushed. */
  digest: string
  mediaType: string
  /** The manifest's size in bytes. */
  size: number
  reference: string
}

/** Blobs up to this size go up in one PUT; bigger ones in chunks of CHUNK_SIZE. */
export const MONOLITHIC_LIMIT = 32 * 1024 * 1024
export const CHUNK_SIZE = 16 * 1024 * 1024
const POOL_SIZE = 3

export interface OutgoingBlob {
  descriptor: Descriptor
  /** A file holding exactly the bytes the descriptor names. */
  path: string
  /** A copy the caller removes afterwards; the upload treats both kinds alike. */
  temporary?: boolean
  what: 'blob' | 'config'
}

/** What every blob of one push shares. */
interface UploadContext {
  client: RegistryClient
  target: NamedReference
  scope: string
  mountFrom: string[]
  options: PushOptions
}

interface PushContext extends UploadContext {
  store: Store
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
  try {
    options.onEvent?.({type: 'signatures'})
    const ctx: PushContext = {client, store, target, scope: repositoryScope(target.path, ['pull', 'push']), mountFrom: mountCandidates(store, target), options}
    const configDescriptor: Descriptor = {mediaType: format === 'v2s2' ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: manifest.config.digest, size: configBytes.length}
    const layers: Descriptor[] = new Array(manifest.layers.length)
    const tasks = manifest.layers.map((stored, i) => async (): Promise<void> => {
      layers[i] = await pushLayer(ctx, stored, image.layers[i]!, layerMediaType(format, compression), compression)
    })
    tasks.push(() => sendBlob(ctx, {descriptor: configDescriptor, path: store.blobPath(manifest.config.digest), what: 'config'}))
    await runPool(tasks, POOL_SIZE)
    options.onEvent?.({type: 'manifest'})
    const out: Manifest = {
      schemaVersion: 2,
      mediaType: format === 'v2s2' ? MEDIA.dockerManifest : MEDIA.ociManifest,
      config: configDescriptor,
      layers,
      ...(format === 'oci' && manifest.annotations ? {annotations: manifest.annotations} : {}),
    }
    const bytes = Buffer.from(JSON.stringify(out))
    const digest = sha256(bytes)
    const res = await client.request(`/v2/${target.path}/manifests/${options.byDigest ? digest : target.tag ?? target.digest}`, {
      method: 'PUT',
      headers: {'Content-Type': out.mediaType!, 'Content-Length': String(bytes.length)},
      body: () => bytes,
      scope: ctx.scope,
      what: `${shown}: manifest`,
    })
    await drain(res)
    debug(`pushed ${shown} as ${digest} (${imageConfig.architecture}/${imageConfig.os})`)
    return {digest, mediaType: out.mediaType!, size: bytes.length, reference: shown}
  } finally {
    client.close()
  }
}

/** One layer, compressed as the target wants, into the registry; returns its descriptor for the manifest. */
async function pushLayer(ctx: PushContext, stored: Descriptor, layerId: string, mediaType: string, compression: PushCompression): Promise<Descriptor> {
  const store = ctx.store
  if (compressionOf(stored.mediaType) === compression) {
    const descriptor = {mediaType, digest: stored.digest, size: stored.size}
    await sendBlob(ctx, {descriptor, path: store.blobPath(stored.digest), what: 'blob'})
    return descriptor
  }
  if (!store.hasBlob(stored.digest)) throw new StorageError(`layer ${layerId}: blob ${stored.digest} is missing from the store`, {hint: 'Run: tspod system check --repair'})
  const diffId = store.readLayer(layerId).diffId
  for (const known of lookupBlobInfo(store.graphRoot, diffId, compression)) {
    const descriptor = {mediaType, digest: known.digest, size: known.size}
    const what = blobWhat(ctx, known.digest)
    if (await findInRegistry(ctx, descriptor.digest, 'blob', what)) return descriptor
    if (store.hasBlob(known.digest)) {
      debug(`${what}: sending the copy compressed by ${known.compressor} before`)
      await uploadWithRetries(ctx, {descriptor, path: store.blobPath(known.digest), what: 'blob'})
      return descriptor
    }
  }
  return compressAndUpload(ctx, stored, layerId, diffId, mediaType, compression)
}

function blobWhat(ctx: UploadContext, digest: string): string {
  return `${formatReference(ctx.target)}: blob ${digest}`
}

/**
 * Compress a layer and upload it in the same pass: the compressor's output
 * is hashed, kept in a file and streamed to the registry at once. The digest
 * is known only at the end, so the upload is finished (PUT ?digest=) then.
 * A failed upload does not stop the compression: the file is completed and
 * the upload goes on from what the registry has, or starts again from it.
 * The compressed copy goes into the store and the blob-info cache, for the
 * next push.
 */
async function compressAndUpload(ctx: PushContext, stored: Descriptor, layerId: string, diffId: string, mediaType: string, compression: PushCompression): Promise<Descriptor> {
  const {store, options} = ctx
  const {compressStream, decompressStream} = await import('../storage/compression.js')
  const have = compressionOf(stored.mediaType)
  const staging = store.stagingPath('push')
  const eventDigest = stored.digest
  options.onEvent?.({type: 'blob-start', digest: eventDigest, what: 'blob'})
  let upload: StreamedUpload | undefined
  try {
    const uploadWhat = blobWhat(ctx, diffId)
    const location = await startUpload(ctx, uploadWhat)
    let input: Readable = createReadStream(store.blobPath(stored.digest), {highWaterMark: 1024 * 1024})
    if (have !== 'none') input = decompressStream(input, have)
    const {stream, compressor} = compressStream(input, compression)
    upload = new StreamedUpload(ctx, location, uploadWhat)
    const digester = new DigestingStream()
    const file = createWriteStream(staging, {mode: 0o600})
    try {
      await pipeline(stream, new ProgressStream(eventDigest, undefined, options.onEvent), digester, new FanOut(file, upload))
    } catch (err) {
      if (err instanceof TspodError) throw err
      throw new StorageError(`compressing layer ${layerId} with ${compression}: ${(err as Error).message}`, {cause: err})
    }
    const descriptor: Descriptor = {mediaType, digest: digester.digest(), size: digester.size}
    const what = blobWhat(ctx, descriptor.digest)
    try {
      await upload.finish(staging, descriptor)
    } catch (err) {
      // The compressed copy is complete: a fresh upload of it settles the matter, or fails for a reason worth showing.
      debug(`${what}: ${(err as Error).message}; uploading the compressed copy again`)
      await uploadWithRetries(ctx, {descriptor, path: staging, what: 'blob'}, false)
    }
    await store.commitBlob(staging, descriptor.digest)
    await recordBlobInfo(store.graphRoot, diffId, {digest: descriptor.digest, size: descriptor.size, mediaType, compression, compressor})
    debug(`${what}: compressed by ${compressor} while uploading`)
    options.onEvent?.({type: 'blob-done', digest: eventDigest, what: 'blob'})
    return descriptor
  } finally {
    upload?.abandon()
    await rm(staging, {force: true})
  }
}

/**
 * One upload fed while its content is being made: a PATCH whose body is
 * written as the bytes come (chunked transfer encoding). Should the PATCH
 * fail, writes are dropped from then on; finish() goes on from what the
 * registry has once the whole content is in a file.
 */
class StreamedUpload {
  private readonly body = new PassThrough({highWaterMark: 4 * 1024 * 1024})
  private readonly response: Promise<FetchResponse>
  private failure?: unknown
  private location: string
  private sent = 0

  constructor(private readonly ctx: UploadContext, start: string, private readonly what: string) {
    this.location = start
    this.response = ctx.client.request(start, {
      method: 'PATCH',
      headers: {'Content-Type': 'application/octet-stream'},
      body: () => this.body,
      scope: ctx.scope,
      what,
      once: true,
    })
    this.response.catch(err => this.fail(err))
  }

  get failed(): boolean {
    return this.failure !== undefined
  }

  private fail(err: unknown): void {
    this.failure ??= err
    this.body.destroy()
  }

  /** Resolves when the body can take more, or at once when the upload has failed. */
  write(chunk: Buffer): Promise<void> {
    if (this.failed) return Promise.resolve()
    this.sent += chunk.length
    if (this.body.write(chunk)) return Promise.resolve()
    return new Promise(resolve => {
      const done = (): void => {
        this.body.off('drain', done)
        this.body.off('close', done)
        resolve()
      }
      this.body.on('drain', done)
      this.body.on('close', done)
    })
  }

  end(): void {
    if (!this.failed) this.body.end()
  }

  /** Complete the upload of `path` (the whole content) as `descriptor`. */
  async finish(path: string, descriptor: Descriptor): Promise<void> {
    let res: FetchResponse | undefined
    try {
      res = await this.response
      await drain(res)
      this.location = uploadLocation(res, this.what)
    } catch (err) {
      this.failure ??= err
    }
    if (this.failure !== undefined) {
      if (!isRetryable(this.failure)) throw this.failure
      debug(`${this.what}: the streamed upload failed after ${this.sent} bytes (${(this.failure as Error).message}); resuming it`)
      this.location = await resumeUpload(this.ctx, this.location, path, descriptor, this.what)
    }
    await completeUpload(this.ctx, this.location, descriptor.digest, this.what)
  }

  /** Stop feeding a PATCH nobody will finish (after an error elsewhere). */
  abandon(): void {
    if (!this.body.writableEnded) this.fail(new Error('abandoned'))
  }
}

/** A sink that writes every chunk to a file and to an upload, honouring both one's backpressure. */
class FanOut extends Writable {
  constructor(private readonly file: import('node:fs').WriteStream, private readonly upload: StreamedUpload) {
    super({highWaterMark: 1024 * 1024})
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const toFile = this.file.write(chunk) ? Promise.resolve() : settled(this.file, 'drain')
    Promise.all([toFile, this.upload.write(chunk)]).then(() => cb(), cb)
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.upload.end()
    this.file.end()
    settled(this.file, 'finish').then(() => cb(), cb)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.file.destroy()
    cb(err)
  }
}

/** Resolves on `event`, rejects on the stream's error; leaves no listener behind. */
function settled(stream: Writable, event: 'drain' | 'finish'): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = (): void => {
      stream.off('error', bad)
      resolve()
    }
    const bad = (err: Error): void => {
      stream.off(event, ok)
      reject(err)
    }
    stream.once(event, ok)
    stream.once('error', bad)
  })
}

/** Whether an upload failure may be cured by trying again: a dropped connection or a 5xx. */
function isRetryable(err: unknown): boolean {
  if (!(err instanceof TspodError)) return true
  return err instanceof RegistryError && /answers 5\d\d|contacting/.test(err.message)
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

/** A blob of known digest into `target` unless it is there already or can be mounted from one of `mountFrom`. */
export async function uploadBlob(client: RegistryClient, target: NamedReference, blob: OutgoingBlob, mountFrom: string[], options: PushOptions): Promise<void> {
  await sendBlob({client, target, scope: repositoryScope(target.path, ['pull', 'push']), mountFrom, options}, blob)
}

/** A blob of known digest into the registry, unless it is there already or can be mounted. */
async function sendBlob(ctx: UploadContext, blob: OutgoingBlob): Promise<void> {
  const {digest} = blob.descriptor
  const what = blobWhat(ctx, digest)
  if (await findInRegistry(ctx, digest, blob.what, what)) return
  await uploadWithRetries(ctx, blob)
}

/** True when the repository has the blob, or it could be mounted from another repository of the registry. */
async function findInRegistry(ctx: UploadContext, digest: string, kind: 'blob' | 'config', what: string): Promise<boolean> {
  const {client, target, scope} = ctx
  const head = await client.request(`/v2/${target.path}/blobs/${digest}`, {method: 'HEAD', scope, what, accept: [404]})
  await drain(head)
  if (head.status === 200) {
    ctx.options.onEvent?.({type: 'blob-skip', digest, what: kind, reason: 'exists'})
    return true
  }
  for (const from of ctx.mountFrom) {
    const res = await client.request(`/v2/${target.path}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {method: 'POST', scope, what, accept: [202, 401, 403, 404]})
    await drain(res)
    if (res.status === 201) {
      ctx.options.onEvent?.({type: 'blob-skip', digest, what: kind, reason: 'mounted'})
      return true
    }
    // 202: the registry opened an ordinary upload instead; it expires unused.
  }
  return false
}

/** Upload a file, starting afresh up to --retry times when an attempt fails in a way that may pass. */
async function uploadWithRetries(ctx: UploadContext, blob: OutgoingBlob, announce = true): Promise<void> {
  const {digest, size} = blob.descriptor
  const what = blobWhat(ctx, digest)
  const options = ctx.options
  if (announce) options.onEvent?.({type: 'blob-start', digest, size, what: blob.what})
  const retries = options.retry ?? 3
  for (let attempt = 0; ; attempt++) {
    try {
      await uploadFile(ctx, blob, what)
      break
    } catch (err) {
      if (attempt >= retries || !isRetryable(err)) throw err
      debug(`${what}: ${(err as Error).message}; uploading it again`)
      await new Promise(resolve => setTimeout(resolve, (options.retryDelayMs ?? 1000) * 2 ** attempt))
    }
  }
  if (announce) options.onEvent?.({type: 'blob-done', digest, what: blob.what})
}

async function startUpload(ctx: UploadContext, what: string): Promise<string> {
  const start = await ctx.client.request(`/v2/${ctx.target.path}/blobs/uploads/`, {method: 'POST', headers: {'Content-Length': '0'}, scope: ctx.scope, what})
  await drain(start)
  return uploadLocation(start, what)
}

function fileRange(ctx: UploadContext, blob: {path: string; digest: string; size: number}, from: number, to: number): Readable {
  const stream = createReadStream(blob.path, {start: from, end: to - 1, highWaterMark: 1024 * 1024})
  const counted = stream.pipe(new ProgressStream(blob.digest, blob.size, ctx.options.onEvent))
  stream.on('error', err => counted.destroy(err))
  return counted
}

async function uploadFile(ctx: UploadContext, blob: OutgoingBlob, what: string): Promise<void> {
  const {digest, size} = blob.descriptor
  const location = await startUpload(ctx, what)
  if (size > MONOLITHIC_LIMIT) {
    const done = await uploadChunks(ctx, location, blob.path, blob.descriptor, 0, what)
    await completeUpload(ctx, done, digest, what)
    return
  }
  const res = await ctx.client.request(withDigest(location, digest), {
    method: 'PUT',
    headers: {'Content-Type': 'application/octet-stream', 'Content-Length': String(size)},
    body: () => (size === 0 ? Buffer.alloc(0) : fileRange(ctx, {path: blob.path, digest, size}, 0, size)),
    scope: ctx.scope,
    what,
    once: true,
  })
  await drain(res)
}

/** The most times one upload asks the registry where it stands and goes on, before it starts again instead. */
const MAX_RESUMES = 3

/**
 * PATCH the file from `offset` to its end in chunks. When a PATCH fails, the
 * registry is asked how much it has (GET on the upload URL answers `Range:
 * 0-N`, as the distribution spec describes) and the upload continues from
 * there. Returns the location to finish the upload at.
 */
async function uploadChunks(ctx: UploadContext, location: string, path: string, descriptor: Descriptor, offset: number, what: string): Promise<string> {
  const {digest, size} = descriptor
  let resumes = 0
  while (offset < size) {
    const end = Math.min(offset + CHUNK_SIZE, size)
    const from = offset
    try {
      const res = await ctx.client.request(location, {
        method: 'PATCH',
        headers: {'Content-Type': 'application/octet-stream', 'Content-Length': String(end - from), 'Content-Range': `${from}-${end - 1}`},
        body: () => fileRange(ctx, {path, digest, size}, from, end),
        scope: ctx.scope,
        what,
        once: true,
      })
      await drain(res)
      location = uploadLocation(res, what)
      offset = end
    } catch (err) {
      if (resumes >= MAX_RESUMES || !isRetryable(err)) throw err
      resumes++
      debug(`${what}: PATCH of bytes ${from}-${end - 1} failed (${(err as Error).message}); asking the registry where the upload stands`)
      const status = await uploadStatus(ctx, location, what)
      location = status.location
      offset = status.offset
    }
  }
  return location
}

/** Continue an upload that stopped somewhere: from the registry's offset to the end of `path`. */
async function resumeUpload(ctx: UploadContext, location: string, path: string, descriptor: Descriptor, what: string): Promise<string> {
  const status = await uploadStatus(ctx, location, what)
  debug(`${what}: the registry has ${status.offset} of ${descriptor.size} bytes; sending the rest`)
  return uploadChunks(ctx, status.location, path, descriptor, status.offset, what)
}

/** How many bytes of an upload the registry holds: GET answers 204 with `Range: 0-N` (N the last byte held). */
export async function uploadStatus(ctx: Pick<UploadContext, 'client' | 'scope'>, location: string, what: string): Promise<{offset: number; location: string}> {
  const res = await ctx.client.request(location, {scope: ctx.scope, what, accept: [204]})
  await drain(res)
  return {offset: parseUploadRange(res.headers.get('range')), location: res.headers.get('location') ? uploadLocation(res, what) : location}
}

/**
 * The number of bytes an upload's `Range: 0-N` header says the registry
 * holds. distribution writes `0-0` for an empty upload as well as for one
 * byte: taken as empty, since sending a byte again is refused (416) and
 * ends in a fresh upload, while skipping one would corrupt the blob.
 */
export function parseUploadRange(header: string | null): number {
  const m = /^(?:bytes=)?0-(\d+)$/.exec((header ?? '').trim())
  if (!m) return 0
  const last = Number(m[1])
  return last === 0 ? 0 : last + 1
}

async function completeUpload(ctx: UploadContext, location: string, digest: string, what: string): Promise<void> {
  const done = await ctx.client.request(withDigest(location, digest), {method: 'PUT', headers: {'Content-Length': '0'}, scope: ctx.scope, what, once: true})
  await drain(done)
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
