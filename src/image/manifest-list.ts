/**
 * Local manifest lists (`tspod manifest create/add/annotate/push/rm`), kept
 * as Podman keeps them: an image record whose manifest is the index itself.
 * A list has no config to take an ID from, so its ID is random and stays
 * the same while the list changes; it has no layers. Its record also keeps,
 * per entry, the platform (so lookups can resolve the list to this host's
 * image without reading blobs) and, for an entry added from a registry, the
 * repository it came from. An entry whose image is in this store is found by
 * digest among the other records; a remote one is copied by `push --all`
 * from where it came, mounted when it lives on the destination registry.
 *
 * What the record holds is exactly what gets pushed: the index is a Docker
 * manifest list while every entry is a Docker schema 2 manifest and nothing
 * carries annotations (as an empty list starts, like Podman's), and an OCI
 * index otherwise, since a Docker list can express neither.
 */
import {randomBytes} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {rm} from 'node:fs/promises'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {EngineConfig} from '../config/index.js'
import {InvalidArgumentError, NameInUseError, NoSuchImageError, RegistryError, StorageError, TspodError} from '../errors/index.js'
import type {PushCompression, PushFormat} from '../registry/push.js'
import type {TransferListener} from '../registry/progress.js'
import type {RegistryClient} from '../registry/client.js'
import type {RegistryAccessOptions} from '../registry/session.js'
import {sha256} from '../storage/hashing.js'
import type {ImageRecord, Store} from '../storage/store.js'
import {readConfig, removeImages, type RemoveReport} from './images.js'
import {findImage, isManifestList, qualifyLocalName, type ListImageRecord, type ListInstanceRecord, type LookupOptions} from './lookup.js'
import {MEDIA, type Descriptor, type ImageIndexManifest, type Platform} from './oci.js'
import {formatReference, normalizeReference, parseReference, referenceName, withDefaultTag, type NamedReference} from './reference.js'
import {stageBytes} from './stage.js'

export interface ListPlatform extends Platform {
  'os.features'?: string[]
  features?: string[]
}

export interface ListEntry {
  mediaType: string
  digest: string
  size: number
  platform?: ListPlatform
  annotations?: Record<string, string>
}

export interface ManifestListIndex {
  schemaVersion: 2
  mediaType: string
  manifests: ListEntry[]
  annotations?: Record<string, string>
}

/** What `manifest add` and `annotate` may set on an entry, as their flags give it. */
export interface EntryOverrides {
  os?: string
  arch?: string
  variant?: string
  osVersion?: string
  features?: string[]
  osFeatures?: string[]
  /** `KEY=VALUE` each. */
  annotations?: string[]
}

export interface ManifestAddOptions extends EntryOverrides {
  /** A list being added contributes all its entries, not only this host's. */
  all?: boolean
  access: RegistryAccessOptions
  lookup: LookupOptions
}

export interface ManifestCreateOptions {
  all?: boolean
  amend?: boolean
  /** `KEY=VALUE` each: annotations of the index itself. */
  annotations?: string[]
  access: RegistryAccessOptions
  lookup: LookupOptions
}

export interface ManifestPushOptions extends RegistryAccessOptions {
  /** Push the images the list names too (Podman's default). */
  all: boolean
  format?: PushFormat
  compressionFormat?: PushCompression
  lookup: LookupOptions
  onEvent?: TransferListener
  /** Podman's list-level progress lines. */
  onMessage?: (line: string) => void
}

export interface ManifestPushReport {
  id: string
  /** Digest of the index as pushed. */
  digest: string
  reference: string
}

interface Addition {
  entry: ListEntry
  instance: ListInstanceRecord
}

const TRANSPORT = /^(dir|oci|oci-archive|docker-archive|docker-daemon|ostree|sif):/
const DIGEST = /^sha256:[a-f0-9]{64}$/

/** The media type a list gets: a Docker manifest list when it can be one, an OCI index otherwise. */
export function listMediaType(manifests: ListEntry[], annotations?: Record<string, string>): string {
  const docker = manifests.every(m => m.mediaType === MEDIA.dockerManifest && !m.annotations) && !annotations
  return docker ? MEDIA.dockerManifestList : MEDIA.ociIndex
}

function orderPlatform(p: ListPlatform): ListPlatform {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p['os.version'] ? {'os.version': p['os.version']} : {}),
    ...(p['os.features']?.length ? {'os.features': p['os.features']} : {}),
    ...(p.variant ? {variant: p.variant} : {}),
    ...(p.features?.length ? {features: p.features} : {}),
  }
}

/**
 * The index's bytes, fields in the order Go's structs write them (Podman's
 * output): Docker lists carry no annotations; OCI indexes put them before
 * the platform.
 */
export function serializeIndex(manifests: ListEntry[], annotations: Record<string, string> | undefined, mediaType: string): Buffer {
  if (mediaType === MEDIA.dockerManifestList) {
    return Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: manifests.map(m => ({mediaType: m.mediaType, size: m.size, digest: m.digest, ...(m.platform ? {platform: orderPlatform(m.platform)} : {})})),
    }))
  }
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: manifests.map(m => ({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      ...(m.annotations && Object.keys(m.annotations).length > 0 ? {annotations: m.annotations} : {}),
      ...(m.platform ? {platform: orderPlatform(m.platform)} : {}),
    })),
    ...(annotations && Object.keys(annotations).length > 0 ? {annotations} : {}),
  }))
}

/** `KEY=VALUE` flags as a map; Podman refuses a key without a value. */
export function parseAnnotations(values: string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined
  const out: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf('=')
    if (eq <= 0) throw new InvalidArgumentError(`no value given for annotation ${JSON.stringify(value)}`, {hint: 'Use --annotation KEY=VALUE'})
    out[value.slice(0, eq)] = value.slice(eq + 1)
  }
  return out
}

/** Apply the flags to an entry (and keep the record's platform in step). */
export function applyOverrides(addition: Addition, overrides: EntryOverrides): void {
  const {entry} = addition
  const platform: ListPlatform = {...(entry.platform ?? {architecture: '', os: ''})}
  if (overrides.arch !== undefined) platform.architecture = overrides.arch
  if (overrides.os !== undefined) platform.os = overrides.os
  if (overrides.variant !== undefined) platform.variant = overrides.variant
  if (overrides.osVersion !== undefined) platform['os.version'] = overrides.osVersion
  if (overrides.features !== undefined) platform.features = splitList(overrides.features)
  if (overrides.osFeatures !== undefined) platform['os.features'] = splitList(overrides.osFeatures)
  if (platform.architecture !== '' || platform.os !== '') entry.platform = platform
  const annotations = parseAnnotations(overrides.annotations)
  if (annotations) entry.annotations = {...entry.annotations, ...annotations}
  addition.instance.platform = entry.platform ? pickPlatform(entry.platform) : undefined
}

function splitList(values: string[]): string[] {
  return values.flatMap(v => v.split(',')).map(v => v.trim()).filter(v => v !== '')
}

function pickPlatform(p: ListPlatform): ListInstanceRecord['platform'] {
  return {os: p.os, architecture: p.architecture, ...(p.variant ? {variant: p.variant} : {})}
}

export function readIndex(store: Store, list: ImageRecord): ManifestListIndex {
  return store.readBlobJson<ManifestListIndex>(list.digest)
}

function notAList(name: string): TspodError {
  return new TspodError(`${name}: image is not a manifest list`, {hint: 'Create one with: tspod manifest create NAME'})
}

/** The list a name means, itself (not its image for this host). */
export function findManifestList(images: ImageRecord[], name: string, lookup: LookupOptions): ListImageRecord {
  const image = findImage(images, name, {...lookup, manifestList: true})
  if (!image) throw new NoSuchImageError(name)
  if (!isManifestList(image)) throw notAList(name)
  return image
}

/** A local list's index, or undefined when the name means no local list (inspect then asks the registry). */
export function inspectLocalManifestList(store: Store, name: string, lookup: LookupOptions): unknown {
  if (name.startsWith('docker://')) return undefined
  let image: ImageRecord | undefined
  try {
    image = findImage(store.readImages(), name, {...lookup, manifestList: true})
  } catch (err) {
    if (err instanceof InvalidArgumentError) return undefined
    throw err
  }
  if (!image || !isManifestList(image)) return undefined
  return JSON.parse(store.readBlob(image.digest).toString('utf8'))
}

export function manifestListExists(store: Store, name: string, lookup: LookupOptions): boolean {
  const image = findImage(store.readImages(), name, {...lookup, manifestList: true})
  return image !== undefined && isManifestList(image)
}

/**
 * Write the list's index and record. Call with the store lock held and
 * `images` read under it: the rewrite of images.json is the commit point.
 */
async function writeList(store: Store, images: ImageRecord[], list: ListImageRecord, manifests: ListEntry[], annotations: Record<string, string> | undefined, instances: ListInstanceRecord[]): Promise<void> {
  const mediaType = listMediaType(manifests, annotations)
  const bytes = serializeIndex(manifests, annotations, mediaType)
  const blob = await stageBytes(store, bytes)
  if (blob.path) await store.commitBlob(blob.path, blob.digest)
  list.digest = blob.digest
  list.digests = [blob.digest]
  list.manifestMediaType = mediaType
  list.size = bytes.length
  list.instances = instances
  await store.writeImages(images)
}

/** Entries replace ones of the same digest in place; new ones go last. */
function mergeAdditions(manifests: ListEntry[], instances: ListInstanceRecord[], additions: Addition[]): void {
  for (const {entry, instance} of additions) {
    const at = manifests.findIndex(m => m.digest === entry.digest)
    if (at === -1) manifests.push(entry)
    else manifests[at] = entry
    const known = instances.findIndex(i => i.digest === instance.digest)
    if (known === -1) instances.push(instance)
    else instances[known] = instance
  }
}

export async function createManifestList(config: EngineConfig, store: Store, name: string, images: string[], options: ManifestCreateOptions): Promise<string> {
  const qualified = qualifyLocalName(name)
  const annotations = parseAnnotations(options.annotations)
  const additions: Addition[] = []
  for (const image of images) additions.push(...(await resolveAdditions(config, store, image, {all: options.all, access: options.access, lookup: options.lookup})))
  return store.withWriteLock(async () => {
    const records = store.readImages()
    const holder = records.find(r => r.names.includes(qualified))
    if (holder && !options.amend) {
      throw new NameInUseError(`creating image to hold manifest list: image name "${qualified}" is already associated with image "${holder.id}": that name is already in use`, {
        hint: isManifestList(holder) ? 'Use --amend to change the existing list, or choose another name' : 'Choose another name, or untag the image first',
      })
    }
    if (holder && !isManifestList(holder)) throw notAList(name)
    let list: ListImageRecord
    let index: ManifestListIndex = {schemaVersion: 2, mediaType: MEDIA.dockerManifestList, manifests: []}
    if (holder) {
      list = holder as ListImageRecord
      if (additions.length === 0 && !annotations) return list.id
      index = readIndex(store, list)
    } else {
      const now = new Date().toISOString()
      list = {id: randomBytes(32).toString('hex'), names: [qualified], digest: '', digests: [], manifestMediaType: MEDIA.dockerManifestList, layers: [], size: 0, created: now, added: now, instances: []}
      records.push(list)
    }
    const manifests = [...index.manifests]
    const instances = [...(list.instances ?? [])]
    mergeAdditions(manifests, instances, additions)
    const merged = annotations ? {...index.annotations, ...annotations} : index.annotations
    await writeList(store, records, list, manifests, merged, instances)
    return list.id
  })
}

export async function addToManifestList(config: EngineConfig, store: Store, name: string, image: string, options: ManifestAddOptions): Promise<string> {
  findManifestList(store.readImages(), name, options.lookup)
  const additions = await resolveAdditions(config, store, image, options)
  for (const addition of additions) applyOverrides(addition, options)
  return store.withWriteLock(async () => {
    const records = store.readImages()
    const list = findManifestList(records, name, options.lookup)
    const index = readIndex(store, list)
    const manifests = [...index.manifests]
    const instances = [...(list.instances ?? [])]
    mergeAdditions(manifests, instances, additions)
    await writeList(store, records, list, manifests, index.annotations, instances)
    return list.id
  })
}

/** `manifest annotate LIST DIGEST-or-IMAGE`: change one entry's platform or annotations. */
export async function annotateManifestList(store: Store, name: string, target: string, overrides: EntryOverrides, lookup: LookupOptions): Promise<string> {
  return store.withWriteLock(async () => {
    const records = store.readImages()
    const list = findManifestList(records, name, lookup)
    const index = readIndex(store, list)
    let digests: string[]
    if (DIGEST.test(target)) digests = [target]
    else {
      const image = findImage(records, target, {...lookup, manifestList: true})
      if (!image) throw new NoSuchImageError(target, 'Name the entry by its digest (see tspod manifest inspect)')
      digests = image.digests
    }
    const at = index.manifests.findIndex(m => digests.includes(m.digest))
    if (at === -1) {
      throw new InvalidArgumentError(`${target}: no image in manifest list ${name} has this digest`, {hint: `See the list's entries with: tspod manifest inspect ${name}`})
    }
    const manifests = index.manifests.map(m => ({...m}))
    const entry = manifests[at]!
    const instances = [...(list.instances ?? [])]
    let instance = instances.find(i => i.digest === entry.digest)
    if (!instance) {
      instance = {digest: entry.digest}
      instances.push(instance)
    }
    applyOverrides({entry, instance}, overrides)
    await writeList(store, records, list, manifests, index.annotations, instances)
    return list.id
  })
}

/** `manifest rm`: like rmi, but every name must be a list (1 when missing, 125 when not a list). */
export async function removeManifestLists(store: Store, names: string[], lookup: LookupOptions): Promise<RemoveReport> {
  const images = store.readImages()
  const refs: string[] = []
  const errors: RemoveReport['errors'] = []
  for (const name of names) {
    try {
      findManifestList(images, name, lookup)
      refs.push(name)
    } catch (err) {
      if (!(err instanceof TspodError)) throw err
      errors.push({ref: name, error: err, exitCode: err instanceof NoSuchImageError ? 1 : err.exitCode})
    }
  }
  const report = refs.length > 0 ? await removeImages(store, refs, lookup) : {untagged: [], deleted: [], errors: []}
  return {...report, errors: [...errors, ...report.errors]}
}

/** What an IMAGE argument adds: a local image, a local list's entries, or a registry's image or list entries. */
async function resolveAdditions(config: EngineConfig, store: Store, input: string, options: {all?: boolean; access: RegistryAccessOptions; lookup: LookupOptions}): Promise<Addition[]> {
  if (TRANSPORT.test(input)) {
    throw new InvalidArgumentError(`${input}: only images in a registry (docker://) or in local storage (containers-storage:) can be added to a manifest list`)
  }
  if (input.startsWith('docker://')) return resolveRemote(config, store, input.slice('docker://'.length), options)
  const localOnly = input.startsWith('containers-storage:')
  const name = localOnly ? input.slice('containers-storage:'.length) : input
  const image = findImage(store.readImages(), name, {...options.lookup, manifestList: true})
  if (image) return resolveLocal(store, image, name, options.all ?? false)
  if (localOnly) throw new NoSuchImageError(name)
  return resolveRemote(config, store, name, options)
}

async function resolveLocal(store: Store, image: ImageRecord, name: string, all: boolean): Promise<Addition[]> {
  if (isManifestList(image)) {
    const index = readIndex(store, image)
    const chosen = all ? index.manifests : [await hostEntry(index, name)]
    return chosen.map(entry => ({entry: {...entry}, instance: {...(image.instances?.find(i => i.digest === entry.digest) ?? {digest: entry.digest}), ...(entry.platform ? {platform: pickPlatform(entry.platform)} : {})}}))
  }
  const config = readConfig(store, image) as ReturnType<typeof readConfig> & {'os.version'?: string}
  const platform: ListPlatform = {architecture: config.architecture, os: config.os, ...(config['os.version'] ? {'os.version': config['os.version']} : {}), ...(config.variant ? {variant: config.variant} : {})}
  const entry: ListEntry = {mediaType: image.manifestMediaType, digest: image.digest, size: store.readBlob(image.digest).length, platform}
  return [{entry, instance: {digest: image.digest, platform: pickPlatform(platform)}}]
}

async function hostEntry(index: {manifests: ListEntry[]}, shown: string): Promise<ListEntry> {
  const {selectPlatform} = await import('../registry/pull.js')
  return selectPlatform(index as ImageIndexManifest, undefined, shown) as ListEntry
}

async function resolveRemote(config: EngineConfig, store: Store, input: string, options: {all?: boolean; access: RegistryAccessOptions}): Promise<Addition[]> {
  const [{resolveShortName}, {fetchManifest}, {openRegistryClient}, {repositoryScope}] = await Promise.all([
    import('./short-names.js'),
    import('../registry/pull.js'),
    import('../registry/session.js'),
    import('../registry/auth.js'),
  ])
  const errors: TspodError[] = []
  for (const candidate of resolveShortName(input, {registries: config.registries, isTTY: false}).candidates) {
    const ref = withDefaultTag(normalizeReference(candidate))
    const shown = formatReference(ref)
    const source = referenceName(ref)
    const client = openRegistryClient(config, source, options.access)
    try {
      const scope = repositoryScope(ref.path, ['pull'])
      const fetched = await fetchManifest(client, store, ref.path, ref.digest ?? ref.tag!, scope, shown)
      const data = JSON.parse(fetched.bytes.toString('utf8')) as {schemaVersion?: number; manifests?: ListEntry[]; config?: Descriptor}
      if (data.schemaVersion !== 2) throw new RegistryError(`${shown}: Docker schema 1 manifests are not supported`)
      if (Array.isArray(data.manifests)) {
        const chosen = options.all ? data.manifests : [await hostEntry({manifests: data.manifests}, shown)]
        return chosen.map(entry => ({entry: {...entry}, instance: {digest: entry.digest, source, ...(entry.platform ? {platform: pickPlatform(entry.platform)} : {})}}))
      }
      if (!data.config) throw new RegistryError(`${shown}: unsupported manifest type ${fetched.mediaType || '(none)'}`)
      const res = await client.request(`/v2/${ref.path}/blobs/${data.config.digest}`, {scope, what: `${shown}: config ${data.config.digest}`})
      const imageConfig = JSON.parse(Buffer.from(await res.arrayBuffer()).toString('utf8')) as {architecture?: string; os?: string; variant?: string; 'os.version'?: string}
      const platform: ListPlatform = {
        architecture: imageConfig.architecture ?? '',
        os: imageConfig.os ?? '',
        ...(imageConfig['os.version'] ? {'os.version': imageConfig['os.version']} : {}),
        ...(imageConfig.variant ? {variant: imageConfig.variant} : {}),
      }
      const entry: ListEntry = {mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.length, platform}
      return [{entry, instance: {digest: fetched.digest, source, platform: pickPlatform(platform)}}]
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err
      errors.push(err)
    } finally {
      client.close()
    }
  }
  if (errors.length === 1) throw errors[0]!
  throw new RegistryError(`${input}: reading the image failed for every candidate: ${errors.map(e => e.message).join('; ')}`, {hint: errors[errors.length - 1]?.hint})
}

/**
 * `manifest push`: with `all`, each entry's image first (by digest: an
 * image of this store through pushImage, which may recompress it and so
 * change its digest; a remote one copied as it is), then the index, by tag.
 */
export async function pushManifestList(config: EngineConfig, store: Store, name: string, destination: string | undefined, options: ManifestPushOptions): Promise<ManifestPushReport> {
  const [{pushDestination, pushImage}, {openRegistryClient}, {repositoryScope}, {drain}] = await Promise.all([
    import('../registry/push.js'),
    import('../registry/session.js'),
    import('../registry/auth.js'),
    import('../registry/client.js'),
  ])
  const records = store.readImages()
  const list = findManifestList(records, name, options.lookup)
  const index = readIndex(store, list)
  const where = destination ?? list.names[0]
  if (!where) throw new InvalidArgumentError(`manifest list ${name} has no name to push it to`, {hint: `Give a destination: tspod manifest push ${name} REGISTRY/REPOSITORY:TAG`})
  const target = pushDestination(where)
  if (target.tag === undefined) throw new InvalidArgumentError(`${where}: a manifest list is pushed to a tag, not a digest`)
  const shown = formatReference(target)
  const say = options.onMessage ?? (() => {})
  const client = openRegistryClient(config, referenceName(target), options)
  try {
    const manifests = index.manifests.map(m => ({...m}))
    if (options.all) {
      say('Getting image list signatures')
      say(`Copying ${manifests.length} of ${manifests.length} images in list`)
      for (const [i, entry] of manifests.entries()) {
        say(`Copying image ${entry.digest} (${i + 1}/${manifests.length})`)
        const local = records.find(r => !isManifestList(r) && r.digests.includes(entry.digest))
        if (local) {
          const pushed = await pushImage(config, store, local.id, `docker://${referenceName(target)}`, {
            ...options,
            format: options.format,
            compressionFormat: options.compressionFormat,
            onEvent: options.onEvent,
            byDigest: true,
          })
          manifests[i] = {...entry, mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size}
          continue
        }
        const source = list.instances?.find(x => x.digest === entry.digest)?.source
        if (!source) {
          throw new StorageError(`manifest list ${name}: image ${entry.digest} is not in local storage and was not added from a registry`, {
            hint: `Pull or add the image again, or push without it: tspod manifest push --all=false ${name}`,
          })
        }
        await copyRemoteInstance(config, store, client, target, source, entry, options)
      }
    }
    const mediaType = options.format === 'v2s2' ? MEDIA.dockerManifestList : options.format === 'oci' ? MEDIA.ociIndex : listMediaType(manifests, index.annotations)
    const bytes = serializeIndex(manifests, index.annotations, mediaType)
    say('Writing manifest list to image destination')
    const res = await client.request(`/v2/${target.path}/manifests/${target.tag}`, {
      method: 'PUT',
      headers: {'Content-Type': mediaType, 'Content-Length': String(bytes.length)},
      body: () => bytes,
      scope: repositoryScope(target.path, ['pull', 'push']),
      what: `${shown}: manifest list`,
    }).catch((err: unknown) => {
      // Registries refuse a list whose images the repository does not hold.
      if (options.all || !(err instanceof RegistryError)) throw err
      throw new RegistryError(err.message, {hint: `The repository must hold the list's images first: push with --all`, cause: err})
    })
    await drain(res)
    say('Storing list signatures')
    return {id: list.id, digest: sha256(bytes), reference: shown}
  } finally {
    client.close()
  }
}

/** An entry added from a registry, copied to the destination as it is: by mount on the same registry, else through this host. */
async function copyRemoteInstance(config: EngineConfig, store: Store, client: RegistryClient, target: NamedReference, source: string, entry: ListEntry, options: ManifestPushOptions): Promise<void> {
  const [{fetchManifest}, {openRegistryClient}, {repositoryScope}, {drain}] = await Promise.all([
    import('../registry/pull.js'),
    import('../registry/session.js'),
    import('../registry/auth.js'),
    import('../registry/client.js'),
  ])
  const from = normalizeReference(parseReference(source))
  const shown = `${source}@${entry.digest}`
  const scope = repositoryScope(target.path, ['pull', 'push'])
  const have = await client.request(`/v2/${target.path}/manifests/${entry.digest}`, {method: 'HEAD', headers: {Accept: entry.mediaType}, scope, what: shown, accept: [404]})
  await drain(have)
  if (have.status === 200) return
  const sameRegistry = from.domain === target.domain
  const sourceClient = sameRegistry ? client : openRegistryClient(config, source, options)
  try {
    const fetched = await fetchManifest(sourceClient, store, from.path, entry.digest, repositoryScope(from.path, ['pull']), shown)
    if (fetched.digest !== entry.digest) throw new RegistryError(`${shown}: the manifest arrived with digest ${fetched.digest}`)
    const manifest = JSON.parse(fetched.bytes.toString('utf8')) as {config?: Descriptor; layers?: Descriptor[]; manifests?: unknown}
    if (manifest.manifests) throw new RegistryError(`${shown}: is itself a manifest list, which tspod does not nest in another`)
    for (const [what, descriptor] of [...(manifest.config ? [['config', manifest.config] as const] : []), ...(manifest.layers ?? []).map(l => ['blob', l] as const)]) {
      await copyBlob(store, sourceClient, from, client, target, descriptor, what, sameRegistry, options)
    }
    const res = await client.request(`/v2/${target.path}/manifests/${entry.digest}`, {
      method: 'PUT',
      headers: {'Content-Type': fetched.mediaType, 'Content-Length': String(fetched.bytes.length)},
      body: () => fetched.bytes,
      scope,
      what: `${shown}: manifest`,
    })
    await drain(res)
  } finally {
    if (!sameRegistry) sourceClient.close()
  }
}

async function copyBlob(store: Store, sourceClient: RegistryClient, from: NamedReference, client: RegistryClient, target: NamedReference, descriptor: Descriptor, what: 'blob' | 'config', sameRegistry: boolean, options: ManifestPushOptions): Promise<void> {
  const [{drain}, {uploadBlob}, {repositoryScope}, {DigestingStream}] = await Promise.all([
    import('../registry/client.js'),
    import('../registry/push.js'),
    import('../registry/auth.js'),
    import('../storage/hashing.js'),
  ])
  const {digest, size} = descriptor
  const scope = repositoryScope(target.path, ['pull', 'push'])
  const label = `${formatReference(target)}: blob ${digest}`
  const head = await client.request(`/v2/${target.path}/blobs/${digest}`, {method: 'HEAD', scope, what: label, accept: [404]})
  await drain(head)
  if (head.status === 200) {
    options.onEvent?.({type: 'blob-skip', digest, what, reason: 'exists'})
    return
  }
  if (sameRegistry) {
    const mount = await client.request(`/v2/${target.path}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from.path)}`, {method: 'POST', scope, what: label, accept: [202, 401, 403, 404]})
    await drain(mount)
    if (mount.status === 201) {
      options.onEvent?.({type: 'blob-skip', digest, what, reason: 'mounted'})
      return
    }
  }
  const staging = store.stagingPath('blob')
  try {
    const res = await sourceClient.request(`/v2/${from.path}/blobs/${digest}`, {scope: repositoryScope(from.path, ['pull']), what: `${from.domain}/${from.path}: blob ${digest}`})
    const digester = new DigestingStream()
    await pipeline(res.body as unknown as Readable, digester, createWriteStream(staging, {mode: 0o600}))
    if (digester.digest() !== digest || digester.size !== size) {
      throw new RegistryError(`${from.domain}/${from.path}: blob ${digest} arrived with digest ${digester.digest()} and size ${digester.size}`, {hint: 'The source registry served other content than its manifest names'})
    }
    await uploadBlob(client, target, {descriptor, path: staging, temporary: true, what}, [], options)
  } finally {
    await rm(staging, {force: true})
  }
}
