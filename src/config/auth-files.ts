/**
 * containers-auth.json(5): finding credentials, not using them (the registry
 * client does that, and runs credential helpers).
 *
 * Files, in order: REGISTRY_AUTH_FILE (or --authfile) alone if given; else
 * $XDG_RUNTIME_DIR/containers/auth.json (/run/containers/UID/auth.json without
 * it), $XDG_CONFIG_HOME/containers/auth.json, $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json, and the legacy ~/.dockercfg. The first file with an
 * answer for the registry wins. Within a file: a credHelpers entry for the
 * registry, then `auths` keys from the most specific (the repository) to the
 * registry, then keys written as URLs (`https://index.docker.io/v1/`), then
 * Docker's credsStore.
 *
 * Nothing here puts a credential in a message: errors name files and keys only.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {ConfigError, InvalidArgumentError, isErrno} from '../errors/index.js'
import {normalizeReference, parseReference, referenceName} from '../image/reference.js'
import {AUTH_FILES_HELPER} from './registries-conf.js'
import {defaultAuthFile, resolveHostPaths, type HostPathOptions, type HostPaths} from './paths.js'
import {readError} from './toml-file.js'

export type AuthLookup =
  | {username: string; password: string; source: string}
  | {identitytoken: string; username?: string; source: string}
  | {helper: string; source: string}

export interface AuthFile {
  path: string
  /** ~/.dockercfg: the entries at top level, keyed by registry only. */
  legacy: boolean
}

export interface LookupAuthOptions extends HostPathOptions {
  /** --authfile; otherwise REGISTRY_AUTH_FILE. */
  authfile?: string
  /** registries.conf credential-helpers: "containers-auth.json" stands for the auth files. */
  credentialHelpers?: string[]
  paths?: HostPaths
}

interface AuthEntry {
  auth?: unknown
  username?: unknown
  password?: unknown
  identitytoken?: unknown
}

interface AuthFileContent {
  auths: Record<string, AuthEntry>
  credHelpers: Record<string, string>
  credsStore?: string
}

/** The files to search, in order; `authfile` (or REGISTRY_AUTH_FILE) replaces them all. */
export function authFiles(paths: HostPaths, authfile?: string): AuthFile[] {
  const explicit = authfile || paths.env.REGISTRY_AUTH_FILE
  if (explicit) return [{path: explicit, legacy: false}]
  const dockerConfig = paths.env.DOCKER_CONFIG
  return [
    {path: defaultAuthFile(paths), legacy: false},
    {path: join(paths.xdgConfigHome, 'containers', 'auth.json'), legacy: false},
    {path: dockerConfig ? join(dockerConfig, 'config.json') : join(paths.home, '.docker', 'config.json'), legacy: false},
    {path: join(paths.home, '.dockercfg'), legacy: true},
  ]
}

/** Where `login` writes: the explicit file, else the first default one. */
export function primaryAuthFile(paths: HostPaths, authfile?: string): string {
  return authFiles(paths, authfile)[0]!.path
}

/**
 * Credentials for a registry (`quay.io`, `localhost:5000`) or a repository
 * (`quay.io/ns/repo`, tag or digest ignored), or undefined when none are
 * configured. `{helper}` names a docker-credential-<helper> for the caller to run.
 */
export function lookupAuth(registryOrRepo: string, options: LookupAuthOptions = {}): AuthLookup | undefined {
  const paths = options.paths ?? resolveHostPaths(options)
  const {key, registry} = authKey(registryOrRepo)
  for (const helper of options.credentialHelpers ?? [AUTH_FILES_HELPER]) {
    if (helper !== AUTH_FILES_HELPER) return {helper, source: 'registries.conf credential-helpers'}
    for (const file of authFiles(paths, options.authfile)) {
      const found = findInFile(file, key, registry)
      if (found) return found
    }
  }
  return undefined
}

/**
 * The docker-credential helper that `login` stores to and `logout` erases
 * from for `key`, or undefined when the auth file itself holds the
 * credentials. As Podman decides it: the first of registries.conf's
 * credential-helpers; when that is the auth file, its credHelpers entry for
 * the registry, else Docker's credsStore. Helpers store per registry only.
 */
export function credentialStoreFor(key: string, options: LookupAuthOptions = {}): string | undefined {
  const paths = options.paths ?? resolveHostPaths(options)
  const first = (options.credentialHelpers ?? [AUTH_FILES_HELPER])[0] ?? AUTH_FILES_HELPER
  let helper: string | undefined = first
  if (first === AUTH_FILES_HELPER) {
    const file = authFiles(paths, options.authfile)[0]!
    const content = file.legacy ? undefined : readAuthFile(file)
    const named: unknown = content?.credHelpers[key.split('/')[0]!]
    helper = typeof named === 'string' && named !== '' ? named : content?.credsStore
  }
  if (helper !== undefined && key.includes('/')) {
    throw new InvalidArgumentError(`${key}: credentials for a repository cannot be kept by docker-credential-${helper}, only for a whole registry`, {
      hint: `Log in to ${key.split('/')[0]} instead, or use --authfile with a file that has no credential helper`,
    })
  }
  return helper
}

/** The repository name (or bare registry) to match, and its registry. */
function authKey(input: string): {key: string; registry: string} {
  let s = input.replace(/^https?:\/\//, '')
  if (s !== input) s = s.split('/')[0]!
  s = s.replace(/\/+$/, '')
  if (s === '') throw new InvalidArgumentError('looking up credentials: empty registry name')
  if (!s.includes('/')) return {key: s, registry: s}
  const ref = parseReference(s)
  if (ref.domain === undefined) {
    throw new InvalidArgumentError(`looking up credentials for ${JSON.stringify(input)}: not a registry or fully qualified repository`)
  }
  const named = normalizeReference(ref)
  return {key: referenceName(named), registry: named.domain}
}

function readAuthFile(file: AuthFile): AuthFileContent | undefined {
  let text: string
  try {
    text = readFileSync(file.path, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined
    throw readError(file.path, err)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    // V8's message quotes the text, which may hold a secret: report the position only.
    const pos = /position (\d+)/.exec(err instanceof Error ? err.message : '')
    const where = pos ? `${lineColumn(text, Number(pos[1]))}: ` : ''
    throw new ConfigError(`parsing ${file.path}: ${where}invalid JSON`, {
      hint: `Fix ${file.path}, or move it aside and log in again.`,
    })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`parsing ${file.path}: expected a JSON object`, {hint: `Fix ${file.path}, or move it aside and log in again.`})
  }
  const obj = data as Record<string, unknown>
  if (file.legacy) return {auths: obj as Record<string, AuthEntry>, credHelpers: {}}
  const content: AuthFileContent = {
    auths: objectField(obj, 'auths', file.path) as Record<string, AuthEntry>,
    credHelpers: objectField(obj, 'credHelpers', file.path) as Record<string, string>,
  }
  if (typeof obj.credsStore === 'string' && obj.credsStore !== '') content.credsStore = obj.credsStore
  return content
}

function objectField(obj: Record<string, unknown>, key: string, path: string): Record<string, unknown> {
  const value = obj[key]
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`parsing ${path}: "${key}" must be a JSON object`, {hint: `Fix ${path}, or move it aside and log in again.`})
  }
  return value as Record<string, unknown>
}

function lineColumn(text: string, pos: number): string {
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`
}

function findInFile(file: AuthFile, key: string, registry: string): AuthLookup | undefined {
  const content = readAuthFile(file)
  if (!content) return undefined
  const helper = content.credHelpers[registry]
  if (typeof helper === 'string' && helper !== '') return {helper, source: file.path}
  const keys = file.legacy ? [registry] : repositoryKeys(key)
  for (const k of keys) {
    const entry = content.auths[k]
    if (entry !== undefined) {
      const found = decodeEntry(entry, k, file.path)
      if (found) return found
    }
  }
  // Keys written as URLs, and Docker Hub's several names.
  const wanted = hubAlias(registry)
  for (const [k, entry] of Object.entries(content.auths)) {
    if (keys.includes(k) || urlKeyHost(k, file.legacy) !== wanted) continue
    const found = decodeEntry(entry, k, file.path)
    if (found) return found
  }
  if (content.credsStore) return {helper: content.credsStore, source: file.path}
  return undefined
}

/** `quay.io/a/b` → `quay.io/a/b`, `quay.io/a`, `quay.io`. */
function repositoryKeys(key: string): string[] {
  const out = [key]
  for (let i = key.lastIndexOf('/'); i !== -1; i = key.lastIndexOf('/', i - 1)) out.push(key.slice(0, i))
  return out
}

function urlKeyHost(key: string, legacy: boolean): string {
  const stripped = key.replace(/^https?:\/\//, '')
  return hubAlias(legacy || stripped !== key ? stripped.split('/')[0]! : stripped)
}

function hubAlias(host: string): string {
  return host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io' ? 'index.docker.io' : host
}

/**
 * An entry with no usable credential (Docker writes `{}` next to a
 * credential helper) yields undefined so the search goes on.
 */
function decodeEntry(entry: AuthEntry, key: string, path: string): AuthLookup | undefined {
  if (typeof entry !== 'object' || entry === null) {
    throw new ConfigError(`parsing ${path}: auths entry ${JSON.stringify(key)} must be a JSON object`, {hint: `Fix ${path}, or log in again.`})
  }
  let username = typeof entry.username === 'string' ? entry.username : ''
  let password = typeof entry.password === 'string' ? entry.password : ''
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(entry.auth)) {
      throw new ConfigError(`parsing ${path}: auths entry ${JSON.stringify(key)}: "auth" is not valid base64`, {
        hint: `Log in again (tspod login) or fix the entry in ${path}.`,
      })
    }
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon !== -1) {
      username = decoded.slice(0, colon)
      password = decoded.slice(colon + 1).replace(/\0+$/, '')
    }
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return username ? {identitytoken: entry.identitytoken, username, source: path} : {identitytoken: entry.identitytoken, source: path}
  }
  if (username !== '' || password !== '') return {username, password, source: path}
  return undefined
}
