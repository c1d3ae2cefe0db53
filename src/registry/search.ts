/**
 * `tspod search`: the Docker Hub style search API (`/v1/search`) where a
 * registry offers it, else the distribution API's catalog (`/v2/_catalog`)
 * filtered by the term. A registry that offers neither is an error that
 * says so. `--list-tags` lists a repository's tags instead.
 */
import type {EngineConfig} from '../config/index.js'
import {InvalidArgumentError, RegistryError} from '../errors/index.js'
import {looksLikeDomain, normalizeReference, parseReference, referenceName} from '../image/reference.js'
import {repositoryScope} from './auth.js'
import {drain} from './client.js'
import {openRegistryClient, type RegistryAccessOptions} from './session.js'

export interface SearchResult {
  Index: string
  Name: string
  Description: string
  Stars: number
  Official: string
  Automated: string
  Tag: string
}

export interface SearchOptions extends RegistryAccessOptions {
  limit?: number
  listTags?: boolean
}

const DEFAULT_LIMIT = 25
const CATALOG_PAGE = 1000

/** Split `host/term` from a bare term searched in every unqualified-search registry. */
function searchTargets(config: EngineConfig, term: string): Array<{registry: string; term: string}> {
  const slash = term.indexOf('/')
  if (slash !== -1 && looksLikeDomain(term.slice(0, slash))) return [{registry: term.slice(0, slash), term: term.slice(slash + 1)}]
  const registries = config.registries.unqualifiedSearchRegistries
  if (registries.length === 0) {
    throw new InvalidArgumentError(`searching ${JSON.stringify(term)}: no registry given and no unqualified-search-registries are configured`, {hint: 'Search a registry by name: tspod search REGISTRY/TERM'})
  }
  return registries.map(registry => ({registry, term}))
}

export async function searchRegistries(config: EngineConfig, term: string, options: SearchOptions): Promise<SearchResult[]> {
  if (options.listTags) return listTags(config, term, options)
  const limit = options.limit ?? DEFAULT_LIMIT
  const out: SearchResult[] = []
  const errors: RegistryError[] = []
  for (const target of searchTargets(config, term)) {
    try {
      out.push(...(await searchOne(config, target.registry, target.term, limit, options)))
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err
      errors.push(err)
    }
  }
  if (out.length === 0 && errors.length > 0) throw errors[0]!
  return out
}

async function searchOne(config: EngineConfig, registry: string, term: string, limit: number, options: SearchOptions): Promise<SearchResult[]> {
  const client = openRegistryClient(config, registry, options)
  const result = (name: string, description = '', stars = 0, official = false, automated = false): SearchResult => ({
    Index: registry,
    Name: `${registry}/${name}`,
    Description: description,
    Stars: stars,
    Official: official ? '[OK]' : '',
    Automated: automated ? '[OK]' : '',
    Tag: '',
  })
  try {
    const v1 = await client.request(`/v1/search?q=${encodeURIComponent(term)}&n=${limit}`, {what: `searching ${registry}`, accept: [401, 403, 404, 405]})
    if (v1.ok) {
      const data = (await v1.json()) as {results?: Array<{name: string; description?: string; star_count?: number; is_official?: boolean; is_automated?: boolean}>}
      return (data.results ?? []).slice(0, limit).map(r => result(r.name, r.description, r.star_count, r.is_official, r.is_automated))
    }
    await drain(v1)
    const names: string[] = []
    let next: string | undefined = `/v2/_catalog?n=${CATALOG_PAGE}`
    while (next && names.length < 100_000) {
      const res = await client.request(next, {scope: 'registry:catalog:*', what: `searching ${registry}`, accept: [401, 403, 404]})
      if (res.status === 401) {
        await drain(res)
        throw new RegistryError(`searching ${registry}: authentication required`, {hint: `Run: tspod login ${registry}`})
      }
      if (!res.ok) {
        await drain(res)
        throw new RegistryError(`searching ${registry}: the registry offers neither /v1/search nor the /v2/_catalog listing (${res.status})`, {hint: 'Look the image up on the registry\'s web page, or ask its operator'})
      }
      const page = (await res.json()) as {repositories?: string[]}
      names.push(...(page.repositories ?? []))
      const link = res.headers.get('link')
      const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null
      next = match ? match[1] : undefined
    }
    return names.filter(n => n.includes(term)).slice(0, limit).map(n => result(n))
  } finally {
    client.close()
  }
}

async function listTags(config: EngineConfig, term: string, options: SearchOptions): Promise<SearchResult[]> {
  const ref = parseReference(term)
  if (ref.tag !== undefined || ref.digest !== undefined) throw new InvalidArgumentError(`${term}: --list-tags takes a repository without a tag or digest`)
  if (ref.domain === undefined) throw new InvalidArgumentError(`${term}: --list-tags needs a fully qualified repository`, {hint: `For example: tspod search --list-tags docker.io/${term}`})
  const named = normalizeReference(ref)
  const name = referenceName(named)
  const client = openRegistryClient(config, name, options)
  try {
    const res = await client.request(`/v2/${named.path}/tags/list`, {scope: repositoryScope(named.path, ['pull']), what: name})
    const data = (await res.json()) as {tags?: string[] | null}
    return (data.tags ?? []).slice(0, options.limit ?? Infinity).map(tag => ({Index: named.domain, Name: name, Description: '', Stars: 0, Official: '', Automated: '', Tag: tag}))
  } finally {
    client.close()
  }
}
