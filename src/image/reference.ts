/**
 * Image references as the docker/distribution grammar defines them:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 *
 * A first component is a domain only when it holds a '.' or a ':' or is
 * `localhost` (Docker's rule, which Podman keeps); anything else is a path on
 * Docker Hub, so `busybox` and `library/busybox` are short names. Docker Hub
 * names are normalised as Docker does: `docker.io/busybox` is
 * `docker.io/library/busybox`, and `index.docker.io` is `docker.io`.
 */
import {InvalidArgumentError} from '../errors/index.js'

export const DOCKER_HUB = 'docker.io'
export const DEFAULT_TAG = 'latest'

/** As the user wrote it: `domain` is absent for a short name. */
export interface ParsedReference {
  domain?: string
  /** Repository path below the domain, e.g. `library/busybox`. */
  path: string
  tag?: string
  digest?: string
}

/** Fully qualified: always has a domain. */
export interface NamedReference extends ParsedReference {
  domain: string
}

const NAME_MAX = 255
const TAG_MAX = 128

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const domainPattern = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`)
const tagPattern = /^\w[\w.-]*$/
const digestPattern = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/
const hexId = /^[a-f0-9]{64}$/
const digestLengths: Record<string, number> = {sha256: 64, sha384: 96, sha512: 128}

function invalid(input: string, cause: string): InvalidArgumentError {
  const what = cause === '' ? 'invalid reference format' : `invalid reference format: ${cause}`
  return new InvalidArgumentError(`parsing reference ${JSON.stringify(input)}: ${what}`)
}

/** A valid `host[:port]` (an IPv6 host in brackets). */
export function isDomain(s: string): boolean {
  return domainPattern.test(s)
}

/** True when a first path component names a registry rather than a namespace. */
export function looksLikeDomain(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost'
}

/** Splits and validates without normalising; throws InvalidArgumentError naming the input. */
export function parseReference(input: string): ParsedReference {
  if (input === '') throw invalid(input, 'repository name must have at least one component')
  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at !== -1) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    checkDigest(input, digest)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!tagPattern.test(tag) || tag.length > TAG_MAX) throw invalid(input, '')
  }
  if (rest.length > NAME_MAX) throw invalid(input, `repository name must not be more than ${NAME_MAX} characters`)
  let domain: string | undefined
  let path = rest
  const slash = rest.indexOf('/')
  if (slash !== -1 && looksLikeDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash)
    path = rest.slice(slash + 1)
    if (!isDomain(domain)) throw invalid(input, '')
  }
  if (path === '') throw invalid(input, 'repository name must have at least one component')
  for (const component of path.split('/')) {
    if (pathComponent.test(component)) continue
    if (pathComponent.test(component.toLowerCase())) throw invalid(input, 'repository name must be lowercase')
    throw invalid(input, '')
  }
  if (domain === undefined && tag === undefined && digest === undefined && hexId.test(path)) {
    throw invalid(input, 'cannot specify 64-byte hexadecimal strings as a repository name')
  }
  return withOptional({domain, path}, tag, digest)
}

function checkDigest(input: string, digest: string): void {
  if (!digestPattern.test(digest)) throw invalid(input, '')
  const [algorithm, encoded] = digest.split(':') as [string, string]
  const length = digestLengths[algorithm]
  if (length === undefined) throw invalid(input, `unsupported digest algorithm ${JSON.stringify(algorithm)}`)
  if (encoded.length !== length || encoded !== encoded.toLowerCase()) {
    throw invalid(input, `invalid checksum digest format`)
  }
}

function withOptional<T extends ParsedReference>(base: T, tag?: string, digest?: string): T {
  const ref = {...base}
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  return ref
}

/** A short name has no registry: `busybox`, `library/busybox:1.36`. */
export function isShortName(ref: ParsedReference): boolean {
  return ref.domain === undefined
}

/** Qualifies a short name with Docker Hub and applies Docker Hub's `library/` rule. */
export function normalizeReference(input: string | ParsedReference): NamedReference {
  const ref = typeof input === 'string' ? parseReference(input) : input
  let domain = ref.domain ?? DOCKER_HUB
  if (domain === 'index.docker.io') domain = DOCKER_HUB
  const path = domain === DOCKER_HUB && !ref.path.includes('/') ? `library/${ref.path}` : ref.path
  return withOptional({domain, path}, ref.tag, ref.digest)
}

/** `domain/path`, or just the path for a short name. */
export function referenceName(ref: ParsedReference): string {
  return ref.domain === undefined ? ref.path : `${ref.domain}/${ref.path}`
}

/** `name[:tag][@digest]`. */
export function formatReference(ref: ParsedReference): string {
  let out = referenceName(ref)
  if (ref.tag !== undefined) out += `:${ref.tag}`
  if (ref.digest !== undefined) out += `@${ref.digest}`
  return out
}

/** Adds `:latest` when the reference names neither a tag nor a digest. */
export function withDefaultTag<T extends ParsedReference>(ref: T): T {
  return ref.tag === undefined && ref.digest === undefined ? {...ref, tag: DEFAULT_TAG} : ref
}

/** Drops tag and digest. */
export function trimReference<T extends ParsedReference>(ref: T): T {
  const {tag: _tag, digest: _digest, ...rest} = ref
  return rest as T
}
