/**
 * Building a RegistryClient from configuration and flags: insecure from
 * registries.conf unless --tls-verify says otherwise, certs.d (or
 * --cert-dir), and credentials from --creds, the auth files or a credential
 * helper, looked up only when the registry asks for them.
 */
import {findRegistry, type EngineConfig} from '../config/index.js'
import {certsDirs} from '../config/paths.js'
import {findCredentials, parseCredsFlag, type Credentials} from './auth.js'
import {RegistryClient} from './client.js'
import {loadTlsMaterial} from './tls.js'

export interface RegistryAccessOptions {
  /** --tls-verify: undefined leaves it to registries.conf. */
  tlsVerify?: boolean
  certDir?: string
  /** --creds USERNAME:PASSWORD */
  creds?: string
  authfile?: string
  /** --retry: attempts after the first (default 3). */
  retry?: number
  /** --retry-delay in milliseconds; doubled on each attempt (default 1000). */
  retryDelayMs?: number
}

export const DEFAULT_RETRIES = 3
export const DEFAULT_RETRY_DELAY_MS = 1000

/** A client for the registry of `repository` (`host[:port]/path`), or of a bare `host[:port]`. */
export function openRegistryClient(config: EngineConfig, repository: string, options: RegistryAccessOptions, insecureOverride?: boolean): RegistryClient {
  const slash = repository.indexOf('/')
  const registry = slash === -1 ? repository : repository.slice(0, slash)
  const insecure = options.tlsVerify === false || (options.tlsVerify === undefined && (insecureOverride ?? findRegistry(config.registries, repository)?.insecure ?? false))
  const tls = loadTlsMaterial(options.certDir ? [options.certDir] : certsDirs(config.paths, registry))
  const explicit = options.creds !== undefined ? parseCredsFlag(options.creds) : undefined
  return new RegistryClient({
    registry,
    ...(registry === 'docker.io' ? {endpoint: 'registry-1.docker.io'} : {}),
    insecure,
    tls,
    retries: options.retry ?? DEFAULT_RETRIES,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    credentials: async (): Promise<Credentials | undefined> => {
      if (explicit) return explicit
      return findCredentials(repository, {paths: config.paths, authfile: options.authfile, credentialHelpers: config.registries.credentialHelpers.length > 0 ? config.registries.credentialHelpers : undefined})
    },
  })
}
