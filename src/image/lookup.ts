/**
 * Finding an image in the local store by what a user types, in the order
 * Podman's libimage uses: a full ID (or `sha256:` and an ID); a name with a
 * digest; an exact fully qualified name; for a short name, `localhost/NAME`
 * then each unqualified-search registry; then a unique ID prefix, so an image
 * named `abc` or `deadbeef` is found by its name even when some ID starts so;
 * and last any stored name whose repository ends in `/NAME` with the same tag.
 */
import {InvalidArgumentError, NoSuchImageError} from '../errors/index.js'
import type {ImageRecord} from '../storage/store.js'
import {MEDIA, hostPlatform, type Platform} from './oci.js'
import {formatReference, isShortName, normalizeReference, parseReference, referenceName, trimReference, withDefaultTag} from './reference.js'

const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{3,64})$/

export interface LookupOptions {
  /**
   * unqualified-search-registries; a function when reading registries.conf is
   * to be put off until a name is not found without it (see findImage).
   */
  searchRegistries?: string[] | (() => string[])
  /**
   * Return a manifest list itself. Without it a list resolves, as in
   * Podman's libimage, to its instance for this host's platform.
   */
  manifestList?: boolean
}

/** Where a manifest list's instance is: kept on the list's record so lookups need no blob reads. */
export interface ListInstanceRecord {
  digest: string
  platform?: Pick<Platform, 'os' | 'architecture' | 'variant'>
  /** The repository (`host/path`) a remote instance was added from; absent for images of this store. */
  source?: string
}

/** A manifest list is stored as an image record whose manifest is the index: no config, no layers. */
export type ListImageRecord = ImageRecord & {instances?: ListInstanceRecord[]}

export function isManifestList(image: ImageRecord): image is ListImageRecord {
  return image.manifestMediaType === MEDIA.ociIndex || image.manifestMediaType === MEDIA.dockerManifestList
}

export function matchesIdPrefix(image: ImageRecord, prefix: string): boolean {
  return image.id.startsWith(prefix)
}

/** Qualify a name the way tspod stores it: short names go under localhost/, tag defaults to latest. */
export function qualifyLocalName(input: string): string {
  const ref = parseReference(input)
  if (ref.digest !== undefined) throw new InvalidArgumentError(`${input}: a tag may not contain a digest`)
  const named = isShortName(ref) ? {...ref, domain: 'localhost'} : normalizeReference(ref)
  return formatReference(withDefaultTag(named))
}

export function findImage(images: ImageRecord[], input: string, options: LookupOptions = {}): ImageRecord | undefined {
  const registries = options.searchRegistries
  const hit = findWith(images, input, typeof registries === 'function' ? registries : () => registries ?? [])
  return hit && !options.manifestList && isManifestList(hit) ? hostInstance(images, hit, input) : hit
}

/** The list's local image for this host's platform; a clear error when it has none. */
function hostInstance(images: ImageRecord[], list: ListImageRecord, input: string): ImageRecord {
  const host = hostPlatform()
  const platform = `${host.os}/${host.architecture}`
  const matching = (list.instances ?? []).filter(i => i.platform?.os === host.os && i.platform.architecture === host.architecture)
  if (matching.length === 0) {
    throw new NoSuchImageError(`${input}: the manifest list has no image for ${platform}`, `See its platforms with: tspod manifest inspect ${input}`)
  }
  for (const instance of matching) {
    const image = images.find(i => !isManifestList(i) && i.digests.includes(instance.digest))
    if (image) return image
  }
  throw new NoSuchImageError(`${input}: the manifest list's image for ${platform} (${matching[0]!.digest}) is not in local storage`, matching[0]!.source ? `Pull it with: tspod pull ${matching[0]!.source}@${matching[0]!.digest}` : undefined)
}

function findWith(images: ImageRecord[], input: string, searchRegistries: () => string[]): ImageRecord | undefined {
  const id = ID_PREFIX.exec(input)
  // `sha256:` says it is an ID; so do 64 hex digits, which no repository name may be.
  if (input.startsWith('sha256:') || id?.[1].length === 64) return id ? findByIdPrefix(images, input, id[1]) : undefined
  const ref = parseReference(input)
  if (ref.digest !== undefined) {
    const digest = ref.digest
    // A short name with a digest matches the digest in any repository.
    const repository = isShortName(ref) ? undefined : referenceName(normalizeReference(trimReference(ref)))
    return images.find(i => i.digests.includes(digest) && (repository === undefined || i.names.some(n => repositoryOf(n) === repository)))
  }
  const tagged = withDefaultTag(ref)
  const byName = (repositories: string[]): ImageRecord | undefined => {
    for (const repository of repositories) {
      const hit = images.find(i => i.names.includes(`${repository}:${tagged.tag}`))
      if (hit) return hit
    }
    return undefined
  }
  if (!isShortName(tagged)) return byName([referenceName(normalizeReference(tagged))])
  const local = byName([`localhost/${tagged.path}`])
  if (local) return local
  const suffix = `/${tagged.path}:${tagged.tag}`
  const bySuffix = images.filter(i => i.names.some(n => n.endsWith(suffix)))
  const byPrefix = id ? images.filter(i => matchesIdPrefix(i, id[1])) : []
  // A name through a search registry is one of the suffix matches, so
  // registries.conf is read only when it decides between several of them or
  // between one and an ID prefix.
  if (bySuffix.length > 1 || (bySuffix.length === 1 && byPrefix.length > 0)) {
    const hit = byName(searchRegistries().map(registry => referenceName(normalizeReference({...tagged, domain: registry}))))
    if (hit) return hit
  }
  if (id && byPrefix.length > 0) return findByIdPrefix(byPrefix, input, id[1])
  return bySuffix.length === 1 ? bySuffix[0] : undefined
}

function findByIdPrefix(images: ImageRecord[], input: string, prefix: string): ImageRecord | undefined {
  const matches = images.filter(i => matchesIdPrefix(i, prefix))
  if (matches.length > 1 && prefix.length < 64) {
    throw new InvalidArgumentError(`${input}: image ID prefix is ambiguous: it matches ${matches.length} images`, {hint: 'Give more characters of the ID'})
  }
  return matches[0]
}

export function lookupImage(images: ImageRecord[], input: string, options: LookupOptions = {}): ImageRecord {
  const image = findImage(images, input, options)
  if (!image) throw new NoSuchImageError(input)
  return image
}

export function repositoryOf(name: string): string {
  const at = name.indexOf('@')
  const base = at === -1 ? name : name.slice(0, at)
  const colon = base.lastIndexOf(':')
  return colon > base.lastIndexOf('/') ? base.slice(0, colon) : base
}

export function tagOf(name: string): string {
  const at = name.indexOf('@')
  const base = at === -1 ? name : name.slice(0, at)
  const colon = base.lastIndexOf(':')
  return colon > base.lastIndexOf('/') ? base.slice(colon + 1) : '<none>'
}
