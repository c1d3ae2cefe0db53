/**
 * `tspod login` and `logout`: credentials checked against the registry, then
 * kept in the primary auth file (Podman's: $XDG_RUNTIME_DIR/containers/auth.json,
 * or --authfile / REGISTRY_AUTH_FILE), written atomically with mode 0600.
 * Other keys of the file (credHelpers, credsStore, other registries) are kept.
 * When a credential helper applies (registries.conf credential-helpers, or
 * the file's credHelpers entry or credsStore) the helper keeps them instead.
 */
import {mkdirSync, readFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {credentialStoreFor} from '../config/auth-files.js'
import {lookupAuth, primaryAuthFile, type EngineConfig} from '../config/index.js'
import {ConfigError, InvalidArgumentError, isErrno} from '../errors/index.js'
import {writeFileAtomic} from '../util/atomic.js'
import {eraseWithCredentialHelper, storeWithCredentialHelper, type Credentials} from './auth.js'
import {openRegistryClient, type RegistryAccessOptions} from './session.js'

/** `https://quay.io/` → `quay.io`; `quay.io/ns/repo` stays (a login for that namespace only). */
export function normalizeLoginKey(input: string): string {
  let key = input.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '')
  if (key === 'index.docker.io' || key === 'registry-1.docker.io') key = 'docker.io'
  if (key === '' || /\s/.test(key)) throw new InvalidArgumentError(`${JSON.stringify(input)}: not a registry name`, {hint: 'Give the registry as host[:port], e.g. quay.io or localhost:5000'})
  if (/[:@]/.test(key.split('/').slice(1).join('/'))) throw new InvalidArgumentError(`${input}: credentials can be stored for a registry or a repository, not for a tag or digest`)
  return key
}

interface AuthFileJson {
  auths?: Record<string, unknown>
  [key: string]: unknown
}

function readAuthJson(path: string): AuthFileJson {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return {}
    throw new ConfigError(`reading ${path}: ${(err as Error).message}`)
  }
  try {
    const data = JSON.parse(text) as unknown
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not an object')
    return data as AuthFileJson
  } catch {
    // The parser's message may quote the file, and the file holds secrets.
    throw new ConfigError(`parsing ${path}: invalid JSON`, {hint: `Fix ${path}, or move it aside and log in again`})
  }
}

async function writeAuthJson(path: string, data: AuthFileJson): Promise<void> {
  mkdirSync(dirname(path), {recursive: true, mode: 0o700})
  await writeFileAtomic(path, JSON.stringify(data, null, '\t') + '\n', 0o600)
}

/** The credentials already stored for a registry, from any auth file (for --get-login and re-login). */
export function storedCredentials(config: EngineConfig, key: string, authfile?: string): Credentials | undefined {
  const found = lookupAuth(key, {paths: config.paths, authfile})
  if (!found || 'helper' in found) return undefined
  if ('identitytoken' in found) return {username: found.username ?? '', password: '', identityToken: found.identitytoken}
  return {username: found.username, password: found.password}
}

/** Check the credentials with the registry, then store them. Returns the file written. */
export async function loginRegistry(config: EngineConfig, key: string, creds: Credentials, access: RegistryAccessOptions): Promise<string> {
  await verifyLogin(config, key, creds, access)
  const helper = credentialStoreFor(key, helperLookup(config, access.authfile))
  if (helper !== undefined) {
    await storeWithCredentialHelper(helper, key, creds)
    return `docker-credential-${helper}`
  }
  const file = primaryAuthFile(config.paths, access.authfile)
  const data = readAuthJson(file)
  const auths = typeof data.auths === 'object' && data.auths !== null && !Array.isArray(data.auths) ? data.auths : {}
  auths[key] = {auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}
  data.auths = auths
  await writeAuthJson(file, data)
  return file
}

/** Credentials are good when the registry lets them through /v2/. */
export async function verifyLogin(config: EngineConfig, key: string, creds: Credentials, access: RegistryAccessOptions): Promise<void> {
  const client = openRegistryClient(config, key, {...access, creds: undefined, retry: 0})
  try {
    await client.verifyCredentials(creds)
  } finally {
    client.close()
  }
}

export type LogoutResult = 'removed' | 'not-logged-in'

function helperLookup(config: EngineConfig, authfile: string | undefined) {
  return {paths: config.paths, authfile, credentialHelpers: config.registries.credentialHelpers.length > 0 ? config.registries.credentialHelpers : undefined}
}

/** Remove one registry's credentials: from its credential helper, or from the primary auth file. */
export async function logoutRegistry(config: EngineConfig, key: string, authfile?: string): Promise<LogoutResult> {
  const helper = credentialStoreFor(key, helperLookup(config, authfile))
  if (helper !== undefined) return (await eraseWithCredentialHelper(helper, key)) ? 'removed' : 'not-logged-in'
  const file = primaryAuthFile(config.paths, authfile)
  const data = readAuthJson(file)
  const auths = data.auths as Record<string, unknown> | undefined
  if (!auths || !(key in auths)) return 'not-logged-in'
  delete auths[key]
  await writeAuthJson(file, data)
  return 'removed'
}

/** Remove every registry's entry from the primary auth file. */
export async function logoutAll(config: EngineConfig, authfile?: string): Promise<void> {
  const file = primaryAuthFile(config.paths, authfile)
  const data = readAuthJson(file)
  const helpers = typeof data.credHelpers === 'object' && data.credHelpers !== null ? Object.entries(data.credHelpers) : []
  for (const [registry, helper] of helpers) if (typeof helper === 'string' && helper !== '') await eraseWithCredentialHelper(helper, registry)
  if (!data.auths || Object.keys(data.auths).length === 0) return
  data.auths = {}
  await writeAuthJson(file, data)
}
