/**
 * Image use cases on the local store: list (with Podman's filters), tag,
 * untag, remove, prune, and the garbage collection removal ends with.
 */
import {ImageInUseError, InvalidArgumentError, NoSuchImageError} from '../errors/index.js'
import type {ImageConfig, Manifest} from './oci.js'
import type {ImageRecord, Store} from '../storage/store.js'
import {findImage, isManifestList, lookupImage, qualifyLocalName, repositoryOf, tagOf, type LookupOptions} from './lookup.js'

export interface ImageSummary {
  Id: string
  ParentId: string
  RepoTags: string[] | null
  RepoDigests: string[]
  Size: number
  SharedSize: number
  VirtualSize: number
  Labels: Record<string, string> | null
  Containers: number
  ReadOnly: boolean
  Names: string[] | null
  Digest: string
  History: string[] | null
  Created: number
  CreatedAt: string
  Dangling: boolean
}

export function readConfig(store: Store, image: ImageRecord): ImageConfig {
  if (isManifestList(image)) throw new InvalidArgumentError(`${image.names[0] ?? image.id}: is a manifest list, which has no image config`, {hint: 'Name one of its images instead (see tspod manifest inspect)'})
  return store.readBlobJson<ImageConfig>(`sha256:${image.id}`)
}

export function repoDigests(image: ImageRecord): string[] {
  const repos = [...new Set(image.names.map(repositoryOf))]
  const out: string[] = []
  for (const repo of repos) for (const d of image.digests) out.push(`${repo}@${d}`)
  return out
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')
  return new RegExp(`^${escaped}$`)
}

/** Podman's reference filter: a pattern against the full name, the name without domain, or the repository. */
function matchesReference(image: ImageRecord, pattern: string): boolean {
  const re = globToRegExp(pattern.includes(':') || pattern.includes('@') ? pattern : pattern)
  for (const name of image.names) {
    const repo = repositoryOf(name)
    const candidates = [name, repo]
    const slash = name.indexOf('/')
    if (slash !== -1) candidates.push(name.slice(slash + 1), repo.slice(slash + 1))
    const last = repo.slice(repo.lastIndexOf('/') + 1)
    candidates.push(last, `${last}:${tagOf(name)}`)
    if (candidates.some(c => re.test(c))) return true
  }
  return false
}

export interface ListOptions extends LookupOptions {
  all?: boolean
  filters?: string[]
  reference?: string
}

export function listImages(store: Store, options: ListOptions = {}): ImageSummary[] {
  const images = store.readImages()
  const containers = store.readContainerRefs()
  const parents = new Set<string>()
  for (const image of images) {
    // An image whose layers are a prefix of another's is its parent (intermediate when nameless).
    for (const other of images) {
      if (other !== image && image.layers.length > 0 && other.layers.length > image.layers.length && image.layers.every((l, i) => other.layers[i] === l)) parents.add(image.id)
    }
  }
  let selected = images.filter(i => options.all || i.names.length > 0 || !parents.has(i.id))
  for (const filter of options.filters ?? []) selected = applyFilter(store, selected, filter, images, options)
  if (options.reference) selected = selected.filter(i => matchesReference(i, options.reference!))
  return selected.map(image => {
    const labels = labelsOf(store, image)
    const created = new Date(image.created)
    return {
      Id: image.id,
      ParentId: findParent(image, images)?.id ?? '',
      RepoTags: image.names.length > 0 ? image.names : null,
      RepoDigests: repoDigests(image),
      Size: image.size,
      SharedSize: 0,
      VirtualSize: image.size,
      Labels: Object.keys(labels).length > 0 ? labels : null,
      Containers: containers.filter(c => c.image === image.id).length,
      ReadOnly: false,
      Names: image.names.length > 0 ? image.names : null,
      Digest: image.digest,
      History: image.namesHistory && image.namesHistory.length > 0 ? image.namesHistory : null,
      Created: Math.floor(created.getTime() / 1000),
      CreatedAt: created.toISOString().replace(/\.\d+Z$/, 'Z'),
      Dangling: image.names.length === 0,
    }
  })
}

function findParent(image: ImageRecord, images: ImageRecord[]): ImageRecord | undefined {
  let best: ImageRecord | undefined
  for (const other of images) {
    if (other === image || other.layers.length === 0 || other.layers.length >= image.layers.length) continue
    if (other.layers.every((l, i) => image.layers[i] === l) && (!best || other.layers.length > best.layers.length)) best = other
  }
  return best
}

function labelsOf(store: Store, image: ImageRecord): Record<string, string> {
  try {
    return readConfig(store, image).config?.Labels ?? {}
  } catch {
    return {}
  }
}

function applyFilter(store: Store, images: ImageRecord[], filter: string, all: ImageRecord[], options: LookupOptions): ImageRecord[] {
  const eq = filter.indexOf('=')
  if (eq === -1) throw new InvalidArgumentError(`invalid image filter "${filter}": expected KEY=VALUE`, {hint: 'Filters: reference=, label=, dangling=, before=, since=, id=, readonly='})
  const key = filter.slice(0, eq)
  const value = filter.slice(eq + 1)
  switch (key) {
    case 'reference':
      return images.filter(i => matchesReference(i, value))
    case 'dangling': {
      if (value !== 'true' && value !== 'false') throw new InvalidArgumentError(`invalid filter "${filter}": dangling takes true or false`)
      return images.filter(i => (i.names.length === 0) === (value === 'true'))
    }
    case 'id':
      return images.filter(i => i.id.startsWith(value.replace(/^sha256:/, '')))
    case 'readonly':
      return value === 'true' ? [] : images
    case 'before':
    case 'since': {
      const ref = lookupImage(all, value, {...options, manifestList: true})
      const t = Date.parse(ref.created)
      return images.filter(i => (key === 'before' ? Date.parse(i.created) < t : Date.parse(i.created) > t))
    }
    case 'label': {
      const vq = value.indexOf('=')
      return images.filter(i => {
        const labels = labelsOf(store, i)
        return vq === -1 ? value in labels : labels[value.slice(0, vq)] === value.slice(vq + 1)
      })
    }
    default:
      throw new InvalidArgumentError(`invalid image filter "${key}"`, {hint: 'Filters: reference=, label=, dangling=, before=, since=, id=, readonly='})
  }
}

/** Add names; each name moves away from any other image that held it. */
export async function tagImage(store: Store, input: string, targets: string[], options: LookupOptions = {}): Promise<void> {
  const names = targets.map(qualifyLocalName)
  await store.withWriteLock(async () => {
    const images = store.readImages()
    const image = lookupImage(images, input, {...options, manifestList: true})
    for (const other of images) {
      if (other === image) continue
      const lost = other.names.filter(n => names.includes(n))
      if (lost.length > 0) {
        other.names = other.names.filter(n => !names.includes(n))
        other.namesHistory = [...new Set([...lost, ...(other.namesHistory ?? [])])]
      }
    }
    image.names = [...new Set([...image.names, ...names])]
    await store.writeImages(images)
  })
}

export async function untagImage(store: Store, input: string, names: string[], options: LookupOptions = {}): Promise<void> {
  await store.withWriteLock(async () => {
    const images = store.readImages()
    const image = lookupImage(images, input, {...options, manifestList: true})
    if (names.length === 0) {
      image.namesHistory = [...new Set([...image.names, ...(image.namesHistory ?? [])])]
      image.names = []
    } else {
      for (const name of names) {
        const full = resolveOwnName(image, name, options)
        if (!full) throw new InvalidArgumentError(`${name}: tag not known for image ${image.id.slice(0, 12)}`)
        image.names = image.names.filter(n => n !== full)
        image.namesHistory = [...new Set([full, ...(image.namesHistory ?? [])])]
      }
    }
    await store.writeImages(images)
  })
}

function resolveOwnName(image: ImageRecord, name: string, options: LookupOptions): string | undefined {
  const hit = findImage([image], name, {...options, manifestList: true})
  if (!hit) return undefined
  const qualified = qualifyLocalName(name)
  if (image.names.includes(qualified)) return qualified
  const suffix = '/' + qualified.slice(qualified.indexOf('/') + 1)
  return image.names.find(n => n.endsWith(suffix) || n === qualified)
}

export interface RemoveReport {
  untagged: string[]
  deleted: string[]
  /** Per-reference failures, with Podman's rmi exit codes: 1 not found, 2 in use. */
  errors: Array<{ref: string; error: Error; exitCode: number}>
}

/**
 * Remove images by reference. Naming one of several names of an image only
 * untags it, as Podman does; naming its ID (or its last name) removes it.
 */
export async function removeImages(store: Store, refs: string[], options: LookupOptions & {all?: boolean; force?: boolean; ignore?: boolean}): Promise<RemoveReport> {
  const report: RemoveReport = {untagged: [], deleted: [], errors: []}
  await store.withWriteLock(async () => {
    let images = store.readImages()
    const containers = store.readContainerRefs()
    const targets: Array<{ref: string; image: ImageRecord; untagOnly?: string}> = []
    if (options.all) for (const image of images) targets.push({ref: image.id, image})
    for (const ref of refs) {
      let image: ImageRecord | undefined
      try {
        image = findImage(images, ref, {...options, manifestList: true})
      } catch (err) {
        report.errors.push({ref, error: err as Error, exitCode: 125})
        continue
      }
      if (!image) {
        if (!options.ignore) report.errors.push({ref, error: new NoSuchImageError(ref), exitCode: 1})
        continue
      }
      // A name wins over an ID prefix, as in the lookup: `rmi abc` of an
      // image named abc whose ID also starts with abc only untags it.
      if (image.names.length > 1 && !options.force) {
        const name = resolveOwnName(image, ref, options)
        if (name) {
          targets.push({ref, image, untagOnly: name})
          continue
        }
      }
      targets.push({ref, image})
    }
    for (const target of targets) {
      const {image} = target
      if (!images.includes(image)) continue
      if (target.untagOnly) {
        image.names = image.names.filter(n => n !== target.untagOnly)
        report.untagged.push(target.untagOnly)
        continue
      }
      const users = containers.filter(c => c.image === image.id)
      if (users.length > 0 && !options.force) {
        report.errors.push({
          ref: target.ref,
          error: new ImageInUseError(`image used by ${users[0].id}: image is in use by a container: consider listing external containers and force-removing image`, {hint: `Remove the container first (tspod rm ${users[0].names[0] ?? users[0].id.slice(0, 12)}), or use rmi --force`}),
          exitCode: 2,
        })
        continue
      }
      report.untagged.push(...image.names)
      report.deleted.push(image.id)
      images = images.filter(i => i !== image)
    }
    await store.writeImages(images)
    await collectGarbage(store, images)
  }, {sweep: true})
  return report
}

/** Remove layers and blobs no image or container refers to. Call with the lock held. */
export async function collectGarbage(store: Store, images: ImageRecord[]): Promise<void> {
  const keepLayers = new Set<string>()
  const keepBlobs = new Set<string>()
  for (const image of images) {
    for (const l of image.layers) keepLayers.add(l)
    keepBlobs.add(`sha256:${image.id}`)
    for (const d of image.digests) keepBlobs.add(d)
    keepBlobs.add(image.digest)
    for (const l of image.layers) {
      try {
        keepBlobs.add(store.readLayer(l).digest)
      } catch {
        // A missing layer has no blob to keep; system check reports it.
      }
    }
    // A manifest may name a layer blob other than the one its layer was made
    // from (the same DiffID compressed another way): keep what manifests name.
    for (const d of new Set([image.digest, ...image.digests])) {
      try {
        const manifest = store.readBlobJson<Manifest>(d)
        for (const layer of manifest.layers ?? []) keepBlobs.add(layer.digest)
        if (manifest.config) keepBlobs.add(manifest.config.digest)
      } catch {
        // A missing or unreadable manifest: system check reports it.
      }
    }
  }
  for (const id of store.listLayerIds()) if (!keepLayers.has(id)) await store.removeLayer(id)
  for (const digest of store.listBlobDigests()) if (!keepBlobs.has(digest)) await store.removeBlob(digest)
}

export async function pruneImages(store: Store, options: {all?: boolean; filters?: string[]} & LookupOptions): Promise<{deleted: string[]; reclaimed: number}> {
  let deleted: string[] = []
  let reclaimed = 0
  await store.withWriteLock(async () => {
    const images = store.readImages()
    const used = new Set(store.readContainerRefs().map(c => c.image))
    let candidates = images.filter(i => !used.has(i.id) && (options.all || i.names.length === 0))
    for (const filter of options.filters ?? []) candidates = applyFilter(store, candidates, filter, images, options)
    const remaining = images.filter(i => !candidates.includes(i))
    const keptLayers = new Set(remaining.flatMap(i => i.layers))
    for (const image of candidates) for (const l of image.layers) if (!keptLayers.has(l)) {
      try {
        reclaimed += store.readLayer(l).size
      } catch {}
      keptLayers.add(l)
    }
    deleted = candidates.map(i => i.id)
    await store.writeImages(remaining)
    await collectGarbage(store, remaining)
  }, {sweep: true})
  return {deleted, reclaimed}
}
