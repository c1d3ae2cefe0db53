/**
 * `tspod pull`: an image from a registry into the store.
 *
 * The manifest is asked for with HEAD first: a manifest the store already
 * holds is not fetched again. A manifest list or OCI index is resolved to the
 * wanted platform (the host's by default). Layers are fetched by a small pool
 * of workers, each streaming its blob straight into stageLayer, which
 * verifies digest and size while it extracts. Each layer is committed as soon
 * as it is complete, so an interrupted pull finds it by ChainID next time and
 * fetches only what is missing; the image itself appears only when
 * commitImage records it, so nothing partial is ever visible. Within one
 * blob, the bytes received are kept in tmp/ as they arrive, and the next
 * attempt (or the next pull) asks for the rest with a Range request.
 */
import {createReadStream, createWriteStream, statSync, type WriteStream} from 'node:fs'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable, Transform, type TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {pullSources, type EngineConfig} from '../config/index.js'
import {InvalidArgumentError, RegistryError, StorageError, TspodError} from '../errors/index.js'
import {MEDIA, hostPlatform, type Descriptor, type ImageConfig, type ImageIndexManifest, type Manifest, type Platform} from '../image/oci.js'
import {formatReference, normalizeReference, parseReference, referenceName, type NamedReference} from '../image/reference.js'
import {recordPromptChoice, resolveForPull, resolveShortName} from '../image/short-names.js'
import {commitImage, discardStaged, preloadLayerModules, stageBytes, stageLayer, type StagedBlob, type StagedLayer} from '../image/stage.js'
import {digestHex} from '../storage/digest.js'
import {DigestingStream, chainIds, sha256} from '../storage/hashing.js'
import type {Store} from '../storage/store.js'
import {acquireLock} from '../util/lock.js'
import {debug} from '../util/log.js'
import {repositoryScope} from './auth.js'
import {drain, type RegistryClient} from './client.js'
import {runPool} from './pool.js'
import {ProgressStream, type TransferListener} from './progress.js'
import {openRegistryClient, type RegistryAccessOptions} from './session.js'

export interface PullOptions extends RegistryAccessOptions {
  platform?: Partial<Platform>
  allTags?: boolean
  rootless: boolean
  /** Whether the user can be asked (short names); without it the candidates are tried in order. */
  isTTY?: boolean
  /** Asks the user to pick one short-name candidate (see resolveForPull). */
  chooseShortName?: (candidates: string[]) => Promise<string>
  onEvent?: TransferListener
  onWarning?: (message: string) => void
}

export interface PullReport {
  id: string
  /** The name the image was stored under. */
  name: string
}

/** Every manifest type we read, the preferred first. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerManifestList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ')
const SCHEMA1 = ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024
const MAX_CONFIG_BYTES = 16 * 1024 * 1024
const POOL_SIZE = 6

/** Pull one reference (several with --all-tags); returns what was stored, in order. */
export async function pullImages(config: EngineConfig, store: Store, input: string, options: PullOptions): Promise<PullReport[]> {
  if (options.allTags) return pullAllTags(config, store, input, options)
  return [await pullImage(config, store, input, options)]
}

async function pullAllTags(config: EngineConfig, store: Store, input: string, options: PullOptions): Promise<PullReport[]> {
  const parsed = parseReference(input)
  if (parsed.tag !== undefined || parsed.digest !== undefined) throw new InvalidArgumentError(`${input}: --all-tags takes a repository without a tag or digest`)
  const resolution = resolveShortName(input, {registries: config.registries, isTTY: false})
  const repo = normalizeReference(resolution.candidates[0]!)
  const name = referenceName(repo)
  const client = openRegistryClient(config, name, options)
  try {
    const res = await client.request(`/v2/${repo.path}/tags/list`, {scope: repositoryScope(repo.path, ['pull']), what: name})
    const data = (await res.json()) as {tags?: string[] | null}
    const tags = (data.tags ?? []).sort()
    if (tags.length === 0) throw new RegistryError(`${name}: the repository has no tags`)
    const out: PullReport[] = []
    for (const tag of tags) out.push(await pullImage(config, store, `${name}:${tag}`, options))
    return out
  } finally {
    client.close()
  }
}

/** Pull one image: the short-name candidates and mirrors in order, the first that has it wins. */
export async function pullImage(config: EngineConfig, store: Store, input: string, options: PullOptions): Promise<PullReport> {
  const resolution = await resolveForPull(input, config.registries, {isTTY: options.isTTY ?? false, choose: options.chooseShortName})
  const errors: TspodError[] = []
  for (const candidate of resolution.candidates) {
    const wanted = normalizeReference(candidate)
    for (const source of pullSources(config.registries, wanted)) {
      options.onEvent?.({type: 'trying', reference: formatReference(source.reference)})
      const client = openRegistryClient(config, referenceName(source.reference), options, source.insecure)
      try {
        const report = await pullFrom(client, store, source.reference, wanted, options)
        await recordPromptChoice(config.registries, resolution, candidate).catch((err: Error) => options.onWarning?.(`recording the short-name alias: ${err.message}`))
        return report
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err
        debug(`pulling ${formatReference(source.reference)}: ${err.message}`)
        errors.push(err)
      } finally {
        client.close()
      }
    }
  }
  if (errors.length === 1) throw errors[0]!
  const last = errors[errors.length - 1]!
  throw new RegistryError(`${input}: initializing source failed for every candidate: ${errors.map(e => e.message).join('; ')}`, {hint: last.hint})
}

export interface FetchedManifest {
  bytes: Buffer
  digest: string
  mediaType: string
}

async function pullFrom(client: RegistryClient, store: Store, source: NamedReference, wanted: NamedReference, options: PullOptions): Promise<PullReport> {
  const path = source.path
  const scope = repositoryScope(path, ['pull'])
  const shown = formatReference(source)
  const top = await fetchManifest(client, store, path, source.digest ?? source.tag ?? 'latest', scope, shown)
  if (source.digest && top.digest !== source.digest) {
    throw new RegistryError(`${shown}: the manifest has digest ${top.digest}`, {hint: 'The registry or something between it and tspod changed the manifest'})
  }
  let target = top
  const parsed = parseManifest(top, shown)
  if ('manifests' in parsed) {
    const chosen = selectPlatform(parsed, options.platform, shown)
    target = await fetchManifest(client, store, path, chosen.digest, scope, shown)
    if (target.digest !== chosen.digest) throw new RegistryError(`${shown}: manifest ${chosen.digest} arrived with digest ${target.digest}`)
  }
  const manifest = parseManifest(target, shown)
  if ('manifests' in manifest) throw new RegistryError(`${shown}: a manifest list names another manifest list`)
  const name = wanted.digest ? `${referenceName(wanted)}@${wanted.digest}` : formatReference(wanted)
  // The list's digest names the image too, as Podman records it (RepoDigests hold both).
  return storeImage(client, store, path, scope, shown, target, manifest, name, options, target === top ? [] : [top.digest])
}

export async function fetchManifest(client: RegistryClient, store: Store, path: string, reference: string, scope: string, shown: string): Promise<FetchedManifest> {
  const url = `/v2/${path}/manifests/${reference}`
  const head = await client.request(url, {method: 'HEAD', headers: {Accept: MANIFEST_ACCEPT}, scope, what: shown, accept: [404]})
  await drain(head)
  if (head.status === 404) throw new RegistryError(`${shown}: manifest unknown: repository ${path} has no ${reference.includes(':') ? 'manifest' : 'tag'} ${reference}`, {hint: 'Check the repository name and the tag'})
  const known = head.headers.get('docker-content-digest')
  const type = head.headers.get('content-type') ?? ''
  if (known && store.hasBlob(known) && !SCHEMA1.includes(type)) {
    const bytes = store.readBlob(known)
    if (sha256(bytes) === known) return {bytes, digest: known, mediaType: type || mediaTypeOf(bytes)}
  }
  const res = await client.request(url, {headers: {Accept: MANIFEST_ACCEPT}, scope, what: shown, accept: [404]})
  if (res.status === 404) {
    await drain(res)
    throw new RegistryError(`${shown}: manifest unknown: repository ${path} has no tag ${reference}`, {hint: 'Check the repository name and the tag'})
  }
  const bytes = Buffer.from(await res.arrayBuffer())
  if (bytes.length > MAX_MANIFEST_BYTES) throw new RegistryError(`${shown}: the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`)
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim()
  return {bytes, digest: sha256(bytes), mediaType: contentType && contentType !== 'application/json' ? contentType : mediaTypeOf(bytes)}
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    const data = JSON.parse(bytes.toString('utf8')) as {mediaType?: string; schemaVersion?: number; manifests?: unknown}
    if (data.mediaType) return data.mediaType
    if (data.schemaVersion === 1) return SCHEMA1[0]!
    return data.manifests ? MEDIA.ociIndex : MEDIA.ociManifest
  } catch {
    return ''
  }
}

function parseManifest(fetched: FetchedManifest, shown: string): Manifest | ImageIndexManifest {
  if (SCHEMA1.includes(fetched.mediaType)) {
    throw new RegistryError(`${shown}: Docker schema 1 manifests are not supported`, {hint: 'Push the image again with a current tool (Docker 1.10 or later, Podman, skopeo): they write schema 2 or OCI'})
  }
  let data: Omit<Manifest & ImageIndexManifest, 'schemaVersion'> & {schemaVersion?: number}
  try {
    data = JSON.parse(fetched.bytes.toString('utf8'))
  } catch {
    throw new RegistryError(`${shown}: the manifest is not valid JSON`)
  }
  if (data.schemaVersion === 1) throw new RegistryError(`${shown}: Docker schema 1 manifests are not supported`, {hint: 'Push the image again with a current tool: they write schema 2 or OCI'})
  if (Array.isArray(data.manifests)) return data as unknown as ImageIndexManifest
  if (!data.config || !Array.isArray(data.layers)) throw new RegistryError(`${shown}: unsupported manifest type ${fetched.mediaType || '(none)'}`)
  return data as unknown as Manifest
}

/** The entry for the wanted platform (the host's by default), as Podman chooses it. */
export function selectPlatform(index: ImageIndexManifest, wanted: Partial<Platform> | undefined, shown: string): Descriptor {
  const host = hostPlatform()
  const os = wanted?.os ?? host.os
  const architecture = wanted?.architecture ?? host.architecture
  const variant = wanted?.variant ?? (wanted?.architecture ? undefined : defaultVariant(architecture))
  const images = index.manifests.filter(m => m.mediaType !== 'application/vnd.in-toto+json' && m.platform?.architecture !== 'unknown')
  const matching = images.filter(m => m.platform?.os === os && m.platform?.architecture === architecture)
  const exact = matching.find(m => variant !== undefined && m.platform?.variant === variant)
  const chosen = exact ?? matching.find(m => !m.platform?.variant) ?? matching[0]
  if (!chosen) {
    const offered = images.map(m => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/')).join(', ')
    throw new RegistryError(`${shown}: no image for platform ${[os, architecture, wanted?.variant].filter(Boolean).join('/')} in the manifest list (it has ${offered || 'none'})`, {
      hint: 'Choose one of them with --platform OS/ARCH[/VARIANT]',
    })
  }
  return chosen
}

function defaultVariant(architecture: string): string | undefined {
  if (architecture === 'arm64') return 'v8'
  return undefined
}

async function storeImage(client: RegistryClient, store: Store, path: string, scope: string, shown: string, target: FetchedManifest, manifest: Manifest, name: string, options: PullOptions, listDigests: string[]): Promise<PullReport> {
  const emit = options.onEvent
  emit?.({type: 'signatures'})
  const configDigest = manifest.config.digest
  const configKnown = store.hasBlob(configDigest)
  if (!configKnown && manifest.config.size > MAX_CONFIG_BYTES) throw new RegistryError(`${shown}: the image config is larger than ${MAX_CONFIG_BYTES} bytes`)
  // The layers are requested together with the config, not after it: only
  // staging a layer needs the config (its chain ID), and the registry's
  // answers arrive while the layer modules load.
  const planned = (async () => {
    let configBytes: Buffer
    if (configKnown) configBytes = store.readBlob(configDigest)
    else {
      const res = await client.request(`/v2/${path}/blobs/${configDigest}`, {scope, what: `${shown}: config ${configDigest}`})
      configBytes = Buffer.from(await res.arrayBuffer())
    }
    const config = parseConfig(configBytes, shown)
    const diffIds = config.rootfs?.diff_ids ?? []
    if (diffIds.length !== manifest.layers.length) {
      throw new RegistryError(`${shown}: the manifest lists ${manifest.layers.length} layers but the image config ${diffIds.length}`)
    }
    return {configBytes, config, diffIds, chain: chainIds(diffIds)}
  })()
  const plans = planned.then(p => p.diffIds.map((diffId, i): LayerPlan => ({diffId, chainId: p.chain[i]!, parent: i === 0 ? undefined : p.chain[i - 1]})))
  // Layer tasks see a failed config through `plans`; the config's own error is the one reported.
  plans.catch(() => {})
  const blobs: StagedBlob[] = []
  const layers: StagedLayer[] = new Array(manifest.layers.length)
  // The config and manifest are written (and synced) while the layers download.
  const small = [planned.then(p => stageBytes(store, p.configBytes, configDigest)), stageBytes(store, target.bytes, target.digest)]
  const smallSettled = Promise.allSettled(small)
  try {
    const tasks = manifest.layers.map((descriptor, i) => async (): Promise<void> => {
      layers[i] = await fetchLayer(client, store, path, scope, shown, descriptor, plans.then(all => all[i]!), options)
    })
    // vfs copies a layer's parent when it stages it, so its layers go in order.
    const pool = runPool(tasks, store.driver === 'vfs' ? 1 : POOL_SIZE)
    // A new config usually means new layers to unpack; loaded once the requests are out.
    if (!configKnown) preloadLayerModules()
    const [plan, done] = await Promise.allSettled([planned, pool])
    if (plan.status === 'rejected') throw plan.reason
    if (done.status === 'rejected') throw done.reason
    const {config, configBytes} = plan.value
    const [configBlob, manifestBlob] = await Promise.all(small)
    emit?.({type: 'blob-start', digest: configDigest, size: configBytes.length, what: 'config'})
    emit?.({type: 'blob-done', digest: configDigest, what: 'config'})
    emit?.({type: 'manifest'})
    const record = await commitImage(store, {
      config: configBlob,
      manifest: manifestBlob,
      manifestMediaType: target.mediaType,
      layers,
      names: [name],
      created: config.created ?? new Date().toISOString(),
      digests: listDigests,
    })
    return {id: record.id, name}
  } catch (err) {
    for (const staged of await smallSettled) if (staged.status === 'fulfilled') blobs.push(staged.value)
    await discardStaged(store, layers.filter(Boolean), blobs)
    throw err
  }
}

/** What the image config says about one layer: what staging it needs. */
interface LayerPlan {
  diffId: string
  chainId: string
  parent: string | undefined
}

function parseConfig(bytes: Buffer, shown: string): ImageConfig {
  try {
    return JSON.parse(bytes.toString('utf8')) as ImageConfig
  } catch {
    throw new RegistryError(`${shown}: the image config is not valid JSON`)
  }
}

async function fetchLayer(client: RegistryClient, store: Store, path: string, scope: string, shown: string, descriptor: Descriptor, planned: Promise<LayerPlan>, options: PullOptions): Promise<StagedLayer> {
  const emit = options.onEvent
  const digest = descriptor.digest
  const what = `${shown}: blob ${digest}`
  const existing = async (chainId: string): Promise<StagedLayer> => {
    emit?.({type: 'blob-skip', digest, what: 'blob', reason: 'exists'})
    const record = store.readLayer(chainId)
    const blob = store.hasBlob(digest) ? {digest, size: descriptor.size} : await fetchBlobOnly(client, store, path, scope, descriptor, what, options)
    return {record, blob, skippedDevices: []}
  }
  // A blob the store has is most likely unpacked already: the config decides before anything is fetched.
  if (store.hasBlob(digest)) {
    const plan = await planned
    if (store.hasLayer(plan.chainId)) return existing(plan.chainId)
  }
  emit?.({type: 'blob-start', digest, size: descriptor.size, what: 'blob'})
  const partial = await claimPartial(store, digest)
  const retries = options.retry ?? 3
  try {
    // The first download starts while the config may still be on its way.
    let early: Promise<OpenedBlob> | undefined = openBlob(client, path, scope, what, descriptor, partial?.path, emit)
    early.catch(() => {})
    let plan: LayerPlan
    try {
      plan = await planned
    } catch (err) {
      await early.then(opened => opened.close(), () => {})
      throw err
    }
    if (store.hasLayer(plan.chainId)) {
      await early.then(opened => opened.close(), () => {})
      return await existing(plan.chainId)
    }
    for (let attempt = 0; ; attempt++) {
      let opened: OpenedBlob | undefined
      try {
        const first = early
        early = undefined
        opened = await (first ?? openBlob(client, path, scope, what, descriptor, partial?.path, emit))
        const staged = await stageLayer(store, opened.stream, {parent: plan.parent, expected: {digest, size: descriptor.size}, mediaType: descriptor.mediaType, rootless: options.rootless, onWarning: options.onWarning, blobWrittenTo: partial?.path})
        if (staged.record.diffId !== plan.diffId) {
          await discardStaged(store, [staged], [])
          throw new StorageError(`${what}: the layer has diffID ${staged.record.diffId}, but the image config lists ${plan.diffId}`, {hint: 'The image in the registry is inconsistent; nothing was stored'})
        }
        // Committed now so an interrupted pull finds it next time; no image refers to it until commitImage.
        await commitInTurn(store, async () => {
          if (staged.blob.path) await store.commitBlob(staged.blob.path, staged.blob.digest)
          if (staged.dir) await store.commitLayer(staged.dir, staged.record.id)
        })
        emit?.({type: 'blob-done', digest, what: 'blob'})
        if (staged.skippedDevices.length > 0) {
          options.onWarning?.(`${what}: skipped ${staged.skippedDevices.length} device node(s) that cannot be created rootless (first: /${staged.skippedDevices[0]})`)
        }
        return {record: staged.record, blob: {digest: staged.blob.digest, size: staged.blob.size}, skippedDevices: staged.skippedDevices}
      } catch (err) {
        await opened?.close()
        // Only a download cut short is worth resuming: complete bytes that failed a check are wrong bytes.
        if (partial && partialSize(partial.path) >= descriptor.size) await rm(partial.path, {force: true})
        const final = err instanceof RegistryError || (err instanceof StorageError && /diffID/.test(err.message)) || attempt >= retries
        if (final) throw asBlobError(err, what)
        debug(`${what}: ${(err as Error).message}; fetching it again`)
        await new Promise(resolve => setTimeout(resolve, (options.retryDelayMs ?? 1000) * 2 ** attempt))
      }
    }
  } finally {
    await partial?.release()
  }
}

/** Layer commits of one pull take the store lock in turn: contending for it within one process would only poll. */
const commitQueues = new WeakMap<Store, Promise<unknown>>()

function commitInTurn(store: Store, fn: () => Promise<void>): Promise<void> {
  const next = (commitQueues.get(store) ?? Promise.resolve()).catch(() => {}).then(() => store.withWriteLock(fn))
  commitQueues.set(store, next)
  return next
}

/** Where a blob's download is kept between attempts and between pulls: tmp/partial-<hex> (not a `.tmp-` name, so sweeps leave it). */
export function partialPath(store: Store, digest: string): string {
  return join(store.tmpDir, `partial-${digestHex(digest)}`)
}

function partialSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

/**
 * The partial download of a blob, for this process alone: another pull of
 * the same blob at the same time downloads on its own, from the start.
 */
async function claimPartial(store: Store, digest: string): Promise<{path: string; release(): Promise<void>} | undefined> {
  const path = partialPath(store, digest)
  try {
    const lock = await acquireLock(`${path}.lock`, {timeoutMs: 0})
    return {path, release: () => lock.release()}
  } catch (err) {
    debug(`${path}: ${(err as Error).message}; downloading without resuming`)
    return undefined
  }
}

/**
 * The blob's bytes from the start. With a partial download in `partial`,
 * the registry is asked for the rest only (`Range: bytes=N-`): on 206 the
 * kept bytes come first, then the new ones; a registry that answers 200
 * sends everything again. New bytes are appended to `partial` on their way
 * through, so an interrupted download keeps what it got.
 */
async function openBlob(client: RegistryClient, path: string, scope: string, what: string, descriptor: Descriptor, partial: string | undefined, emit: TransferListener | undefined): Promise<OpenedBlob> {
  let have = partial ? partialSize(partial) : 0
  if (have > descriptor.size) {
    await rm(partial!, {force: true})
    have = 0
  }
  if (partial && have === descriptor.size) {
    debug(`${what}: the whole blob is in ${partial} already`)
    const stream = createReadStream(partial)
    return {stream, close: async () => void stream.destroy()}
  }
  const headers: Record<string, string> = have > 0 ? {Range: `bytes=${have}-`} : {}
  const res = await client.request(`/v2/${path}/blobs/${descriptor.digest}`, {scope, what, headers})
  const network = res.body as unknown as Readable
  const resumed = have > 0 && res.status === 206 && rangeStart(res.headers.get('content-range')) === have
  if (have > 0) debug(`${what}: ${resumed ? `resuming after ${have} bytes` : `the registry answered ${res.status} to a Range request; downloading it all again`}`)
  if (!resumed) have = 0
  const counted = network.pipe(new ProgressStream(descriptor.digest, descriptor.size, emit))
  network.on('error', err => counted.destroy(err))
  if (!partial) return {stream: counted, close: async () => void network.destroy()}
  // A deep buffer, so that the disk does not hold back decompression and extraction chunk by chunk.
  const file = createWriteStream(partial, {flags: have > 0 ? 'a' : 'w', mode: 0o600, highWaterMark: 4 * 1024 * 1024})
  const kept = new Promise<void>(resolve => file.once('close', resolve))
  const appended = counted.pipe(new AppendToFile(file))
  counted.on('error', err => appended.destroy(err))
  file.on('error', err => appended.destroy(err))
  const close = (): Promise<void> => {
    network.destroy()
    appended.destroy()
    return kept
  }
  if (have === 0) return {stream: appended, close}
  const start = have
  // The network may fail while the kept bytes are still being read: held until the new bytes' turn comes.
  let failure: Error | undefined
  appended.on('error', err => (failure ??= err))
  const stream = Readable.from((async function* () {
    yield* createReadStream(partial, {end: start - 1, highWaterMark: 1024 * 1024})
    if (failure) throw failure
    yield* appended
  })(), {objectMode: false})
  return {stream, close}
}

interface OpenedBlob {
  stream: Readable
  /** Stop the download; settles once the partial file is closed, so that its size can be trusted. */
  close(): Promise<void>
}

/** The first byte a `Content-Range: bytes N-M/T` answer holds. */
export function rangeStart(header: string | null): number | undefined {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec((header ?? '').trim())
  return m ? Number(m[1]) : undefined
}

/** Writes every chunk to a file on its way through, honouring the file's backpressure; the file is closed at the end or on an error. */
class AppendToFile extends Transform {
  constructor(private readonly file: WriteStream) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.file.write(chunk)) cb(null, chunk)
    else this.file.once('drain', () => cb(null, chunk))
  }

  override _flush(cb: TransformCallback): void {
    this.file.end(() => cb())
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.file.writableEnded) this.file.end()
    cb(err)
  }
}

function asBlobError(err: unknown, what: string): TspodError {
  if (err instanceof TspodError) return err
  return new RegistryError(`${what}: ${(err as Error)?.message ?? String(err)}`, {cause: err})
}

/** A blob whose layer the store has (from another image): stored without extracting, since the manifest names it. */
async function fetchBlobOnly(client: RegistryClient, store: Store, path: string, scope: string, descriptor: Descriptor, what: string, options: PullOptions): Promise<StagedBlob> {
  const staging = store.stagingPath('blob')
  try {
    const res = await client.request(`/v2/${path}/blobs/${descriptor.digest}`, {scope, what})
    const digester = new DigestingStream()
    await pipeline(res.body as unknown as Readable, new ProgressStream(descriptor.digest, descriptor.size, options.onEvent), digester, createWriteStream(staging, {mode: 0o600}))
    if (digester.digest() !== descriptor.digest || digester.size !== descriptor.size) {
      throw new StorageError(`${what}: content has digest ${digester.digest()} and size ${digester.size}, expected ${descriptor.digest} and ${descriptor.size}`, {hint: 'The source is corrupt; nothing was stored'})
    }
    return {digest: descriptor.digest, size: descriptor.size, path: staging}
  } catch (err) {
    await rm(staging, {force: true})
    throw err
  }
}
