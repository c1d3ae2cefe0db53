/**
 * One registry, spoken to over the OCI distribution API: scheme choice
 * (HTTPS; plain HTTP only for a registry marked insecure), the
 * WWW-Authenticate flow (basic, and bearer tokens fetched once per scope and
 * reused for every blob), retries with backoff for 429, 5xx and dropped
 * connections, and redirects followed by hand so that credentials never go
 * to another host.
 */
import type {Readable} from 'node:stream'
import {setTimeout as delay} from 'node:timers/promises'
import {RegistryError, TspodError} from '../errors/index.js'
import {debug} from '../util/log.js'
import {basicAuthorization, parseChallenges, type Credentials} from './auth.js'
import {exchange, type RegistryResponse} from './http-exchange.js'
import {createHttpsAgent, describeTlsFailure, type TlsMaterial} from './tls.js'

export type FetchResponse = RegistryResponse

export interface RegistryClientOptions {
  /** `host[:port]` as it appears in references. */
  registry: string
  /** Where the API lives when it differs from the registry's name (Docker Hub: registry-1.docker.io). */
  endpoint?: string
  /** registries.conf `insecure = true` or `--tls-verify=false`: TLS unverified, plain HTTP allowed. */
  insecure: boolean
  tls: TlsMaterial
  /** Resolved lazily: only a registry that asks for authentication costs a lookup. */
  credentials: () => Promise<Credentials | undefined>
  /** Attempts after the first for a retryable failure. */
  retries: number
  retryDelayMs: number
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  /** A body maker, so a retried request sends its body again from the start. */
  body?: () => Buffer | Readable | undefined
  /** The token scope this request needs (e.g. `repository:a/b:pull`). */
  scope?: string
  /** Statuses the caller handles itself; anything else not 2xx becomes a RegistryError. */
  accept?: number[]
  /** Do not retry (the body cannot be replayed). */
  once?: boolean
  /** Names what is asked for, for messages: `localhost:5000/busybox:latest`. */
  what?: string
}

const MAX_REDIRECTS = 5
/** How long plain HTTP may answer alone before TLS is tried too, for an insecure registry with a port. */
const PLAIN_HEAD_START_MS = 50
const REDIRECTS = new Set([301, 302, 303, 307, 308])
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET'])
const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_|EPROTO$|HOSTNAME_MISMATCH)/

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

function errorCode(err: unknown): string {
  const e = err as {code?: string; cause?: {code?: string}; erroredSysCall?: string}
  return e?.code ?? e?.cause?.code ?? ''
}

export function isTlsError(err: unknown): boolean {
  return TLS_CODES.test(errorCode(err)) || /certificate|SSL routines|wrong version number/i.test(String((err as Error)?.message ?? ''))
}

export class RegistryClient {
  readonly registry: string
  private basePromise?: Promise<string>
  private agents: {http?: import('node:http').Agent; https?: import('node:https').Agent} = {}
  private tokens = new Map<string, string>()
  private challenge?: {scheme: string; params: Record<string, string>}
  private credentialsCache?: Promise<Credentials | undefined>

  constructor(private readonly options: RegistryClientOptions) {
    this.registry = options.registry
  }

  /** The registry's base URL after the ping: https://host, or http://host for an insecure one that speaks no TLS. */
  base(): Promise<string> {
    // Memoized as a promise: blobs fetched concurrently share one ping.
    this.basePromise ??= this.findBase()
    return this.basePromise
  }

  private async findBase(): Promise<string> {
    const host = this.options.endpoint ?? this.registry
    const https = `https://${host}`
    const http = `http://${host}`
    const what = `pinging container registry ${this.registry}`
    if (this.options.insecure && /:\d+$/.test(host)) {
      // One port is one server, speaking TLS or plain HTTP, never both: when
      // plain HTTP gets a registry's answer, TLS would fail there, and its
      // set-up (about 25 ms of CPU) is better not spent. Plain HTTP gets a
      // head start; TLS begins when it fails or is slow, and the first to
      // succeed is the one.
      const plain = settle(this.ping(http))
      const early = await Promise.race([plain, delay(PLAIN_HEAD_START_MS, undefined, {ref: false})])
      if (early && 'value' in early) return this.useBase(http, early.value)
      const secure = settle(this.ping(https))
      const winner = await firstSuccess([{base: https, outcome: secure}, {base: http, outcome: plain}])
      if (winner) return this.useBase(winner.base, winner.value)
      const tls = await secure
      const error = 'error' in tls ? tls.error : undefined
      if (error instanceof TspodError) throw error
      throw this.networkError(error, what)
    }
    // HTTPS is preferred even for an insecure registry; plain HTTP is pinged
    // at the same time so that a registry without TLS costs no extra round trip.
    const secure = settle(this.ping(https))
    const plain = this.options.insecure ? settle(this.ping(http)) : undefined
    const tls = await secure
    if ('value' in tls) return this.useBase(https, tls.value)
    if (tls.error instanceof TspodError) throw tls.error
    if (!plain) throw this.networkError(tls.error, what)
    debug(`${https}/v2/ failed (${(tls.error as Error).message}); using plain HTTP as ${this.registry} is insecure`)
    const outcome = await plain
    if ('error' in outcome) {
      if (outcome.error instanceof TspodError) throw outcome.error
      throw this.networkError(outcome.error, what)
    }
    return this.useBase(http, outcome.value)
  }

  private useBase(base: string, challenge: {scheme: string; params: Record<string, string>} | undefined): string {
    this.challenge = challenge
    return base
  }

  /** Ping /v2/; returns the authentication challenge when the registry wants one. */
  private async ping(base: string): Promise<{scheme: string; params: Record<string, string>} | undefined> {
    const res = await this.send(`${base}/v2/`, {method: 'GET', headers: {}}, 0)
    await drain(res)
    if (res.status === 401) return parseChallenges(res.headers.get('www-authenticate') ?? '')[0]
    if (res.status >= 200 && res.status < 300) return undefined
    if (res.status === 404) throw new RegistryError(`pinging container registry ${this.registry}: ${base}/v2/ answers 404: not a registry speaking the distribution API v2`)
    throw new RegistryError(`pinging container registry ${this.registry}: ${base}/v2/ answers ${res.status} ${res.statusText}`)
  }

  private credentials(): Promise<Credentials | undefined> {
    this.credentialsCache ??= this.options.credentials()
    return this.credentialsCache
  }

  /** Credentials check for `login`: the ping's challenge answered with these credentials. */
  async verifyCredentials(creds: Credentials): Promise<void> {
    await this.base()
    this.credentialsCache = Promise.resolve(creds)
    if (!this.challenge) return
    const res = await this.request('/v2/', {what: this.registry, accept: [401]})
    await drain(res)
    if (res.status === 401) throw new RegistryError(`logging in to ${this.registry}: invalid username/password`, {hint: 'Check the username and password'})
  }

  async request(path: string, options: RequestOptions = {}): Promise<FetchResponse> {
    const base = await this.base()
    const url = path.startsWith('http://') || path.startsWith('https://') ? path : `${base}${path}`
    const what = options.what ?? this.registry
    let authorizedOnce = false
    for (let attempt = 0; ; attempt++) {
      let res: FetchResponse
      try {
        const headers = {...options.headers}
        const auth = await this.authorization(options.scope, authorizedOnce)
        if (auth) headers.Authorization = auth
        res = await this.send(url, {method: options.method ?? 'GET', headers, body: options.body?.()}, 0)
      } catch (err) {
        if (err instanceof TspodError) throw err
        if (!options.once && attempt < this.options.retries && RETRYABLE_CODES.has(errorCode(err))) {
          await this.backoff(attempt, `${what}: ${(err as Error).message}`)
          continue
        }
        throw this.networkError(err, what)
      }
      if (res.status === 401 && !authorizedOnce) {
        const challenge = parseChallenges(res.headers.get('www-authenticate') ?? '')[0]
        if (challenge) {
          await drain(res)
          this.challenge = challenge
          authorizedOnce = true
          if (options.scope) this.tokens.delete(options.scope)
          attempt--
          continue
        }
      }
      if (options.accept?.includes(res.status)) return res
      if (res.ok) return res
      const retryable = res.status === 429 || res.status >= 500
      if (retryable && !options.once && attempt < this.options.retries) {
        await drain(res)
        const after = Number(res.headers.get('retry-after'))
        await this.backoff(attempt, `${what}: ${res.status} ${res.statusText}`, Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 60_000) : undefined)
        continue
      }
      throw await this.statusError(res, what)
    }
  }

  private async backoff(attempt: number, why: string, explicit?: number): Promise<void> {
    const delay = explicit ?? this.options.retryDelayMs * 2 ** attempt
    debug(`retrying in ${delay} ms after ${why}`)
    await sleep(delay)
  }

  /** The Authorization header for a request, fetching a bearer token for its scope when the registry wants one. */
  private async authorization(scope: string | undefined, force: boolean): Promise<string | undefined> {
    const challenge = this.challenge
    if (!challenge) return undefined
    if (challenge.scheme === 'basic') {
      const creds = await this.credentials()
      return creds ? basicAuthorization(creds) : undefined
    }
    if (challenge.scheme !== 'bearer') return undefined
    const key = scope ?? ''
    const cached = this.tokens.get(key)
    if (cached && !force) return `Bearer ${cached}`
    const token = await this.fetchToken(challenge.params, scope)
    this.tokens.set(key, token)
    return `Bearer ${token}`
  }

  private async fetchToken(params: Record<string, string>, scope: string | undefined): Promise<string> {
    const realm = params.realm
    if (!realm) throw new RegistryError(`authenticating to ${this.registry}: the bearer challenge names no realm`)
    const url = new URL(realm)
    if (params.service) url.searchParams.set('service', params.service)
    const scopes = [scope, params.scope].filter((s): s is string => !!s)
    for (const s of new Set(scopes)) url.searchParams.append('scope', s)
    const creds = await this.credentials()
    const headers: Record<string, string> = {}
    let res: FetchResponse
    if (creds?.identityToken) {
      const body = new URLSearchParams({grant_type: 'refresh_token', refresh_token: creds.identityToken, service: params.service ?? '', client_id: 'tspod'})
      if (scope) body.set('scope', scope)
      res = await this.send(realm, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: Buffer.from(body.toString())}, 0)
    } else {
      if (creds) headers.Authorization = basicAuthorization(creds)
      res = await this.send(url.toString(), {method: 'GET', headers}, 0)
    }
    if (res.status === 401 || res.status === 403) {
      await drain(res)
      throw new RegistryError(`authenticating to ${this.registry}: ${creds?.identityToken ? 'the token server refused the identity token' : creds ? 'invalid username/password' : 'the registry requires authentication'}`, {hint: `Run: tspod login ${this.registry}`})
    }
    if (!res.ok) {
      await drain(res)
      throw new RegistryError(`authenticating to ${this.registry}: token server ${url.host} answers ${res.status} ${res.statusText}`)
    }
    const data = (await res.json()) as {token?: string; access_token?: string}
    const token = data.token ?? data.access_token
    if (!token) throw new RegistryError(`authenticating to ${this.registry}: token server ${url.host} sent no token`)
    return token
  }

  /** One HTTP exchange with redirects followed by hand; Authorization is dropped when a redirect leaves the host. */
  private async send(url: string, init: {method: string; headers: Record<string, string>; body?: Buffer | Readable}, hops: number): Promise<FetchResponse> {
    const target = new URL(url)
    const agent = await this.agentFor(target.protocol)
    debug(`${init.method} ${url}`)
    const res = await exchange(target, {method: init.method, headers: {'User-Agent': 'tspod', ...init.headers}, body: init.body, agent})
    if (!REDIRECTS.has(res.status)) return res
    const location = res.headers.get('location')
    if (!location) return res
    await drain(res)
    if (hops >= MAX_REDIRECTS) throw new RegistryError(`${this.registry}: too many redirects, the last to ${new URL(location, url).host}`)
    const next = new URL(location, url)
    const headers = {...init.headers}
    if (next.host !== target.host || next.protocol !== target.protocol) delete headers.Authorization
    const method = res.status === 303 ? 'GET' : init.method
    return this.send(next.toString(), {method, headers, body: method === 'GET' ? undefined : init.body}, hops + 1)
  }

  private async agentFor(protocol: string): Promise<import('node:http').Agent> {
    if (protocol === 'https:') {
      this.agents.https ??= await createHttpsAgent(this.options.tls, !this.options.insecure)
      return this.agents.https
    }
    if (!this.agents.http) {
      const {Agent} = await import('node:http')
      this.agents.http = new Agent({keepAlive: true})
    }
    return this.agents.http
  }

  private networkError(err: unknown, what: string): RegistryError {
    const message = (err as Error)?.message ?? String(err)
    if (isTlsError(err)) {
      const failure = describeTlsFailure(err, this.registry, this.options.tls)
      return new RegistryError(`${what}: ${failure.message}`, {hint: failure.hint, cause: err})
    }
    return new RegistryError(`${what}: contacting ${this.registry}: ${message}`, {cause: err})
  }

  private async statusError(res: FetchResponse, what: string): Promise<RegistryError> {
    const detail = await errorDetail(res)
    const suffix = detail ? `: ${detail}` : ''
    if (res.status === 401 || res.status === 403) {
      return new RegistryError(`${what}: ${res.status === 401 ? 'authentication required' : 'access denied'}${suffix}`, {hint: `Run: tspod login ${this.registry}`})
    }
    if (res.status === 404) return new RegistryError(`${what}: not found${suffix}`, {hint: 'Check the repository name and the tag'})
    if (res.status === 429) return new RegistryError(`${what}: too many requests (429), gave up after ${this.options.retries} retries`, {hint: 'Wait, then try again, or raise --retry and --retry-delay'})
    return new RegistryError(`${what}: ${this.registry} answers ${res.status} ${res.statusText}${suffix}`)
  }

  close(): void {
    this.agents.http?.destroy()
    this.agents.https?.destroy()
  }
}

/** The first message of a distribution-spec error body, if any. */
async function errorDetail(res: FetchResponse): Promise<string> {
  try {
    const text = await res.text()
    const data = JSON.parse(text) as {errors?: Array<{code?: string; message?: string}>}
    const first = data.errors?.[0]
    if (!first) return ''
    return [first.code?.toLowerCase().replaceAll('_', ' '), first.message].filter(Boolean).join(': ')
  } catch {
    return ''
  }
}

type Outcome<T> = {value: T} | {error: unknown}

function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(value => ({value}), (error: unknown) => ({error}))
}

/** The first of `candidates` to succeed, or undefined when all fail. */
function firstSuccess<T>(candidates: Array<{base: string; outcome: Promise<Outcome<T>>}>): Promise<{base: string; value: T} | undefined> {
  return new Promise(resolve => {
    let left = candidates.length
    for (const {base, outcome} of candidates) {
      void outcome.then(result => {
        if ('value' in result) resolve({base, value: result.value})
        else if (--left === 0) resolve(undefined)
      })
    }
  })
}

/** Read and drop a body so the connection can be reused. */
export async function drain(res: FetchResponse): Promise<void> {
  try {
    await res.arrayBuffer()
  } catch {
    // The body was already consumed or the connection dropped: nothing to reuse either way.
  }
}
