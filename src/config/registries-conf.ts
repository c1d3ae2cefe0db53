/**
 * containers-registries.conf(5) and containers-registries.conf.d(5).
 *
 * Which files, as Podman reads them:
 * - the main file: CONTAINERS_REGISTRIES_CONF if set (it must exist); else
 *   $XDG_CONFIG_HOME/containers/registries.conf if it exists; else
 *   /etc/containers/registries.conf;
 * - then drop-ins (`*.conf`, sorted): /etc/containers/registries.conf.d unless
 *   the user's own registries.conf is the main file, then
 *   $XDG_CONFIG_HOME/containers/registries.conf.d;
 * - then the machine-written short-name-aliases.conf, whose aliases win.
 *
 * How they merge: a key a later file sets replaces the earlier value;
 * [[registry]] tables replace one with the same prefix, others are added;
 * [aliases] merge by name and an empty value erases one. Only the main file
 * may use the deprecated version 1 format.
 */
import {mkdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {ConfigError, InvalidArgumentError, RegistryError, isErrno} from '../errors/index.js'
import {
  formatReference,
  isDomain,
  normalizeReference,
  parseReference,
  referenceName,
  type NamedReference,
} from '../image/reference.js'
import {writeFileAtomic} from '../util/atomic.js'
import {withLock} from '../util/lock.js'
import type {HostPaths} from './paths.js'
import {isTable, listDropIns, parseToml, readError, readTomlFile, tableAt, typeError, type TomlTable} from './toml-file.js'

export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled'
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only'

/** The value that stands for "the auth files" in credential-helpers. */
export const AUTH_FILES_HELPER = 'containers-auth.json'

export interface RegistryMirror {
  location: string
  insecure: boolean
  pullFromMirror: PullFromMirror
}

export interface RegistryEntry {
  /** What user references are matched against: host[:port][/namespace…] or `*.domain`. */
  prefix: string
  /** Where the prefix really lives; empty for a wildcard prefix that rewrites nothing. */
  location: string
  insecure: boolean
  blocked: boolean
  mirrorByDigestOnly: boolean
  mirrors: RegistryMirror[]
  /** The file that defined it. */
  origin: string
}

export interface ShortNameAlias {
  /** Fully qualified and normalised, without tag or digest. */
  value: string
  origin: string
}

export interface RegistriesConfig {
  unqualifiedSearchRegistries: string[]
  /** The file that set unqualified-search-registries (or would have), for messages. */
  searchRegistriesOrigin: string
  shortNameMode: ShortNameMode
  credentialHelpers: string[]
  registries: RegistryEntry[]
  aliases: Map<string, ShortNameAlias>
  /** Where aliases chosen at a prompt are recorded. */
  aliasCacheFile: string
  /** The files read, in order. */
  files: string[]
}

/** One file's settings: undefined means "not set here", so earlier files stand. */
interface PartialConfig {
  unqualifiedSearchRegistries?: string[]
  shortNameMode?: ShortNameMode
  credentialHelpers?: string[]
  registries: RegistryEntry[]
  /** An empty value erases an alias set by an earlier file. */
  aliases: Map<string, string>
}

export function shortNameAliasCacheFile(paths: HostPaths): string {
  const base = paths.rootless ? paths.xdgCacheHome : join(paths.varDir, 'cache')
  return join(base, 'containers', 'short-name-aliases.conf')
}

export function loadRegistriesConf(paths: HostPaths, filesRead: string[] = []): RegistriesConfig {
  const files: string[] = []
  const userFile = join(paths.userContainers, 'registries.conf')
  const fromEnv = paths.env.CONTAINERS_REGISTRIES_CONF
  let mainFile: string
  let mainTable: TomlTable | undefined
  let userMain = false
  if (fromEnv) {
    mainFile = fromEnv
    mainTable = readTomlFile(fromEnv, {via: 'CONTAINERS_REGISTRIES_CONF'})
  } else {
    mainTable = readTomlFile(userFile)
    userMain = mainTable !== undefined
    mainFile = userMain ? userFile : join(paths.etcContainers, 'registries.conf')
    if (!userMain) mainTable = readTomlFile(mainFile)
  }
  const config: RegistriesConfig = {
    unqualifiedSearchRegistries: [],
    searchRegistriesOrigin: mainFile,
    shortNameMode: 'permissive',
    credentialHelpers: [],
    registries: [],
    aliases: new Map(),
    aliasCacheFile: shortNameAliasCacheFile(paths),
    files,
  }
  const apply = (path: string, partial: PartialConfig) => {
    files.push(path)
    filesRead.push(path)
    mergeInto(config, partial, path)
  }
  if (mainTable) apply(mainFile, parseRegistriesTable(mainTable, mainFile, true))
  const dropInDirs = userMain ? [] : [join(paths.etcContainers, 'registries.conf.d')]
  dropInDirs.push(join(paths.userContainers, 'registries.conf.d'))
  for (const dir of dropInDirs) {
    for (const path of listDropIns(dir)) {
      const table = readTomlFile(path)
      if (table) apply(path, parseRegistriesTable(table, path, false))
    }
  }
  const cacheTable = readTomlFile(config.aliasCacheFile)
  if (cacheTable) apply(config.aliasCacheFile, {registries: [], aliases: parseAliases(cacheTable, config.aliasCacheFile)})
  if (config.credentialHelpers.length === 0) config.credentialHelpers = [AUTH_FILES_HELPER]
  checkConflicts(config.registries)
  return config
}

function mergeInto(config: RegistriesConfig, partial: PartialConfig, path: string): void {
  if (partial.unqualifiedSearchRegistries) {
    config.unqualifiedSearchRegistries = partial.unqualifiedSearchRegistries
    config.searchRegistriesOrigin = path
  }
  if (partial.shortNameMode) config.shortNameMode = partial.shortNameMode
  if (partial.credentialHelpers) config.credentialHelpers = partial.credentialHelpers
  for (const entry of partial.registries) {
    const at = config.registries.findIndex(r => r.prefix === entry.prefix)
    if (at === -1) config.registries.push(entry)
    else config.registries[at] = entry
  }
  for (const [name, value] of partial.aliases) {
    if (value === '') config.aliases.delete(name)
    else config.aliases.set(name, {value, origin: path})
  }
}

function fail(path: string, what: string): ConfigError {
  return new ConfigError(`${path}: ${what}`, {hint: `Fix or remove the entry in ${path}; see containers-registries.conf(5).`})
}

function parseRegistriesTable(table: TomlTable, path: string, mayBeV1: boolean): PartialConfig {
  const v1 = table.registries
  const hasV2 = table.registry !== undefined || table['unqualified-search-registries'] !== undefined
  if (v1 !== undefined) {
    if (!mayBeV1) throw fail(path, 'drop-in files must use the version 2 format, not [registries.*] tables')
    if (hasV2) throw fail(path, 'mixing the version 1 ([registries.*]) and version 2 formats is not supported')
    return parseV1(tableAt(table, 'registries', path), path)
  }
  const partial: PartialConfig = {registries: [], aliases: parseAliases(table, path)}
  const search = stringList(table, 'unqualified-search-registries', path)
  if (search) partial.unqualifiedSearchRegistries = search.map(s => searchRegistry(s, path))
  const mode = table['short-name-mode']
  if (mode !== undefined && mode !== '') {
    if (mode !== 'enforcing' && mode !== 'permissive' && mode !== 'disabled') {
      throw fail(path, `invalid short-name-mode ${JSON.stringify(mode)}: must be "enforcing", "permissive" or "disabled"`)
    }
    partial.shortNameMode = mode
  }
  const helpers = stringList(table, 'credential-helpers', path)
  if (helpers) partial.credentialHelpers = helpers
  const registries = table.registry
  if (registries !== undefined) {
    if (!Array.isArray(registries)) throw typeError(path, 'registry', 'an array of [[registry]] tables', registries)
    for (const item of registries) {
      if (!isTable(item)) throw typeError(path, 'registry', 'an array of [[registry]] tables', item)
      partial.registries.push(parseRegistryEntry(item, path))
    }
  }
  return partial
}

/** Version 1: three lists of hosts, converted to version 2 the way Podman does. */
function parseV1(table: TomlTable, path: string): PartialConfig {
  const listOf = (name: string) => stringList(tableAt(table, name, path, 'registries.'), 'registries', path) ?? []
  const entries = new Map<string, RegistryEntry>()
  const entryFor = (host: string) => {
    const location = cleanLocation(host, path, `registries.${host}`)
    let entry = entries.get(location)
    if (!entry) {
      entry = {prefix: location, location, insecure: false, blocked: false, mirrorByDigestOnly: false, mirrors: [], origin: path}
      entries.set(location, entry)
    }
    return entry
  }
  for (const host of listOf('block')) entryFor(host).blocked = true
  for (const host of listOf('insecure')) entryFor(host).insecure = true
  const partial: PartialConfig = {registries: [...entries.values()], aliases: new Map()}
  const search = listOf('search')
  if (search.length > 0) partial.unqualifiedSearchRegistries = search.map(s => searchRegistry(s, path))
  return partial
}

function stringList(table: TomlTable, key: string, path: string): string[] | undefined {
  const value = table[key]
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw typeError(path, key, 'an array of strings', value)
  for (const item of value) if (typeof item !== 'string') throw typeError(path, key, 'an array of strings', item)
  return value as string[]
}

function stringField(table: TomlTable, key: string, path: string, where: string): string {
  const value = table[key]
  if (value === undefined) return ''
  if (typeof value !== 'string') throw typeError(path, `${where}${key}`, 'a string', value)
  return value
}

function boolField(table: TomlTable, key: string, path: string, where: string): boolean {
  const value = table[key]
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw typeError(path, `${where}${key}`, 'a boolean', value)
  return value
}

/** Trailing slashes go; a URL scheme is refused, since registries are named by host. */
function cleanLocation(input: string, path: string, what: string): string {
  const trimmed = input.replace(/\/+$/, '')
  if (/^https?:\/\//.test(trimmed)) throw fail(path, `invalid ${what} ${JSON.stringify(input)}: URI schemes are not supported`)
  return trimmed
}

function searchRegistry(input: string, path: string): string {
  const host = cleanLocation(input, path, 'unqualified-search-registries entry')
  if (!isDomain(host)) throw fail(path, `invalid unqualified-search-registries entry ${JSON.stringify(input)}: must be host[:port]`)
  return host
}

function parseRegistryEntry(table: TomlTable, path: string): RegistryEntry {
  const where = '[[registry]] '
  const rawPrefix = stringField(table, 'prefix', path, where)
  const rawLocation = stringField(table, 'location', path, where)
  const location = rawLocation === '' ? '' : cleanLocation(rawLocation, path, 'location')
  const prefix = rawPrefix === '' ? location : cleanLocation(rawPrefix, path, 'prefix')
  const wildcard = prefix.startsWith('*.')
  if (prefix.includes('*') && (!wildcard || prefix.slice(1).includes('*') || prefix.includes('/') || prefix.includes(':'))) {
    throw fail(path, `invalid prefix ${JSON.stringify(rawPrefix)}: a wildcard is only allowed as a leading "*." of a host name`)
  }
  if (location === '' && !wildcard) throw fail(path, `${where}location: cannot be empty unless the prefix is a "*." wildcard`)
  const mirrorByDigestOnly = boolField(table, 'mirror-by-digest-only', path, where)
  const mirrors: RegistryMirror[] = []
  const rawMirrors = table.mirror
  if (rawMirrors !== undefined) {
    if (!Array.isArray(rawMirrors)) throw typeError(path, `${where}mirror`, 'an array of [[registry.mirror]] tables', rawMirrors)
    for (const item of rawMirrors) {
      if (!isTable(item)) throw typeError(path, `${where}mirror`, 'an array of [[registry.mirror]] tables', item)
      mirrors.push(parseMirror(item, path, prefix, mirrorByDigestOnly))
    }
  }
  return {
    prefix,
    location,
    insecure: boolField(table, 'insecure', path, where),
    blocked: boolField(table, 'blocked', path, where),
    mirrorByDigestOnly,
    mirrors,
    origin: path,
  }
}

function parseMirror(table: TomlTable, path: string, prefix: string, mirrorByDigestOnly: boolean): RegistryMirror {
  const where = '[[registry.mirror]] '
  const rawLocation = stringField(table, 'location', path, where)
  if (rawLocation === '') throw fail(path, `${where}location: cannot be empty (registry ${JSON.stringify(prefix)})`)
  const pull = stringField(table, 'pull-from-mirror', path, where)
  if (pull !== '' && pull !== 'all' && pull !== 'digest-only' && pull !== 'tag-only') {
    throw fail(path, `invalid pull-from-mirror ${JSON.stringify(pull)}: must be "all", "digest-only" or "tag-only"`)
  }
  if (pull !== '' && mirrorByDigestOnly) {
    throw fail(path, `registry ${JSON.stringify(prefix)} sets both mirror-by-digest-only and a mirror's pull-from-mirror; keep one`)
  }
  return {
    location: cleanLocation(rawLocation, path, 'mirror location'),
    insecure: boolField(table, 'insecure', path, where),
    pullFromMirror: pull === '' ? 'all' : pull,
  }
}

function parseAliases(table: TomlTable, path: string): Map<string, string> {
  const out = new Map<string, string>()
  const aliases = tableAt(table, 'aliases', path)
  for (const [name, value] of Object.entries(aliases)) {
    if (typeof value !== 'string') throw typeError(path, `[aliases] "${name}"`, 'a string', value)
    checkAliasName(name, path)
    out.set(name, value === '' ? '' : aliasValue(name, value, path))
  }
  return out
}

function parseOrFail(input: string, path: string, what: string) {
  try {
    return parseReference(input)
  } catch (err) {
    throw fail(path, `${what} ${JSON.stringify(input)}: ${err instanceof Error ? err.message.replace(/^parsing reference "[^"]*": /, '') : err}`)
  }
}

function checkAliasName(name: string, path: string): void {
  const ref = parseOrFail(name, path, 'invalid short-name alias')
  if (ref.tag !== undefined || ref.digest !== undefined) throw fail(path, `invalid short-name alias ${JSON.stringify(name)}: must not contain a tag or digest`)
  if (ref.domain !== undefined) throw fail(path, `invalid short-name alias ${JSON.stringify(name)}: must not contain a registry`)
}

function aliasValue(name: string, value: string, path: string): string {
  const ref = parseOrFail(value, path, `invalid value for alias ${JSON.stringify(name)}:`)
  if (ref.tag !== undefined || ref.digest !== undefined) throw fail(path, `invalid value for alias ${JSON.stringify(name)}: ${JSON.stringify(value)} must not contain a tag or digest`)
  if (ref.domain === undefined) throw fail(path, `invalid value for alias ${JSON.stringify(name)}: ${JSON.stringify(value)} must contain a registry`)
  return referenceName(normalizeReference(ref))
}

/** Entries for the same location must agree on insecure and blocked. */
function checkConflicts(registries: RegistryEntry[]): void {
  const seen = new Map<string, RegistryEntry>()
  for (const entry of registries) {
    if (entry.location === '') continue
    const other = seen.get(entry.location)
    if (!other) {
      seen.set(entry.location, entry)
      continue
    }
    for (const key of ['insecure', 'blocked'] as const) {
      if (entry[key] !== other[key]) {
        const where = entry.origin === other.origin ? entry.origin : `${other.origin} and ${entry.origin}`
        throw new ConfigError(`registry ${JSON.stringify(entry.location)} is defined more than once with conflicting '${key}' settings (${where})`, {
          hint: `Give every [[registry]] with location ${JSON.stringify(entry.location)} the same ${key} value.`,
        })
      }
    }
  }
}

/**
 * Whether `ref` (a fully qualified name, optionally with tag or digest) falls
 * under `prefix`: a prefix must end where a name component, tag or digest
 * begins; `*.example.com` matches any subdomain of example.com.
 */
function matchesPrefix(ref: string, prefix: string): boolean {
  if (prefix.startsWith('*.')) {
    const slash = ref.indexOf('/')
    const host = slash === -1 ? ref : ref.slice(0, slash)
    return host.endsWith(prefix.slice(1))
  }
  if (ref.length === prefix.length) return ref === prefix
  return ref.length > prefix.length && ref.startsWith(prefix) && ':/@'.includes(ref[prefix.length]!)
}

/** The [[registry]] entry with the longest matching prefix, as Podman chooses it. */
export function findRegistry(config: RegistriesConfig, reference: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined
  for (const entry of config.registries) {
    if (matchesPrefix(reference, entry.prefix) && (!best || entry.prefix.length > best.prefix.length)) best = entry
  }
  return best
}

export interface PullSource {
  /** The reference to ask for there, rewritten from the user's. */
  reference: NamedReference
  insecure: boolean
  /** A mirror rather than the primary location. */
  mirror: boolean
}

/**
 * Where to pull `ref` from, in order: the mirrors that apply to it, then the
 * primary location. A blocked registry is a RegistryError.
 */
export function pullSources(config: RegistriesConfig, ref: NamedReference): PullSource[] {
  const refString = formatReference(ref)
  const entry = findRegistry(config, refString)
  if (!entry) return [{reference: ref, insecure: false, mirror: false}]
  if (entry.blocked) {
    throw new RegistryError(`pulling ${refString}: registry ${JSON.stringify(entry.prefix)} is blocked in ${entry.origin}`, {
      hint: `Remove blocked = true from the [[registry]] entry in ${entry.origin} if this registry should be allowed.`,
    })
  }
  // For a wildcard, the part to rewrite is the host that matched.
  const matched = entry.prefix.startsWith('*.') ? refString.slice(0, refString.indexOf('/')) : entry.prefix
  const rewrite = (location: string): NamedReference => {
    if (location === '') return ref
    const rewritten = location + refString.slice(matched.length)
    try {
      return normalizeReference(rewritten)
    } catch {
      throw new ConfigError(`${entry.origin}: rewriting ${refString} with location ${JSON.stringify(location)} gives an invalid reference ${JSON.stringify(rewritten)}`, {
        hint: `Fix the location of the [[registry]] entry with prefix ${JSON.stringify(entry.prefix)} in ${entry.origin}.`,
      })
    }
  }
  const byDigest = ref.digest !== undefined
  const sources: PullSource[] = []
  if (!entry.mirrorByDigestOnly || byDigest) {
    for (const m of entry.mirrors) {
      if (m.pullFromMirror === 'digest-only' && !byDigest) continue
      if (m.pullFromMirror === 'tag-only' && byDigest) continue
      sources.push({reference: rewrite(m.location), insecure: m.insecure, mirror: true})
    }
  }
  sources.push({reference: rewrite(entry.location), insecure: entry.insecure, mirror: false})
  return sources
}

/**
 * Records `name` = `value` in short-name-aliases.conf, as Podman does after
 * the user picked a registry at the short-name prompt.
 */
export async function recordShortNameAlias(config: RegistriesConfig, name: string, value: string): Promise<void> {
  const file = config.aliasCacheFile
  const short = parseReference(name)
  const target = parseReference(value)
  if (short.domain !== undefined || short.tag !== undefined || short.digest !== undefined) {
    throw new InvalidArgumentError(`recording short-name alias ${JSON.stringify(name)}: must be a short name without tag or digest`)
  }
  if (target.domain === undefined || target.tag !== undefined || target.digest !== undefined) {
    throw new InvalidArgumentError(`recording short-name alias ${JSON.stringify(name)}: ${JSON.stringify(value)} must be fully qualified, without tag or digest`)
  }
  const normalized = referenceName(normalizeReference(target))
  mkdirSync(dirname(file), {recursive: true, mode: 0o700})
  // Not `${file}.lock`: Podman keeps a flock(2) file by that name, which our lock would take for stale.
  await withLock(`${file}.tspod-lock`, async () => {
    let aliases = new Map<string, string>()
    try {
      aliases = parseAliases(parseToml(readFileSync(file, 'utf8'), file), file)
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err instanceof ConfigError ? err : readError(file, err)
    }
    aliases.set(name, normalized)
    const lines = [...aliases].filter(([, v]) => v !== '').map(([k, v]) => `  ${JSON.stringify(k)} = ${JSON.stringify(v)}`)
    await writeFileAtomic(file, `[aliases]\n${lines.join('\n')}\n`, 0o600)
  })
  config.aliases.set(name, {value: normalized, origin: file})
}
