/**
 * Registry authentication: the WWW-Authenticate challenge, credentials from
 * flags, auth files or docker-credential helpers, and bearer tokens.
 * Nothing here puts a secret into a message.
 */
import {lookupAuth, type AuthLookup, type LookupAuthOptions} from '../config/auth-files.js'
import {AUTH_FILES_HELPER} from '../config/registries-conf.js'
import {RegistryError, isErrno} from '../errors/index.js'
import {debug} from '../util/log.js'

export interface Credentials {
  username: string
  password: string
  /** An OAuth2 refresh token (auth.json identitytoken) instead of a password. */
  identityToken?: string
}

export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** Parse `Bearer realm="…",service="…",scope="…"` (RFC 7235 auth-params; quoted strings may hold commas). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = []
  let i = 0
  const skip = (chars: string): void => {
    while (i < header.length && chars.includes(header[i]!)) i++
  }
  const token = (): string => {
    const start = i
    while (i < header.length && !' \t,="'.includes(header[i]!)) i++
    return header.slice(start, i)
  }
  while (i < header.length) {
    skip(' \t,')
    const word = token()
    if (word === '') {
      i++
      continue
    }
    skip(' \t')
    if (header[i] !== '=' || out.length === 0) {
      out.push({scheme: word.toLowerCase(), params: {}})
      continue
    }
    i++
    skip(' \t')
    let value = ''
    if (header[i] === '"') {
      i++
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\') i++
        value += header[i] ?? ''
        i++
      }
      i++
    } else {
      value = token()
    }
    out[out.length - 1]!.params[word.toLowerCase()] = value
  }
  return out
}

/** `--creds USERNAME[:PASSWORD]`; a missing password is an error here (no prompt in the domain layer). */
export function parseCredsFlag(value: string): Credentials {
  const colon = value.indexOf(':')
  if (value === '' || colon === 0) throw new RegistryError('--creds: the username must not be empty', {hint: 'Use --creds USERNAME:PASSWORD'})
  if (colon === -1) throw new RegistryError('--creds: no password given', {hint: 'Use --creds USERNAME:PASSWORD'})
  return {username: value.slice(0, colon), password: value.slice(colon + 1)}
}

/**
 * The credentials for `repository` (`host[:port]/path`, or a bare registry),
 * as containers-auth.json(5) orders the sources: each of registries.conf's
 * credential-helpers in turn ("containers-auth.json" standing for the auth
 * files, whose credHelpers and credsStore name helpers of their own), the
 * first that has something winning.
 */
export async function findCredentials(repository: string, options: LookupAuthOptions): Promise<Credentials | undefined> {
  const registry = repository.split('/')[0]!
  for (const helper of options.credentialHelpers ?? [AUTH_FILES_HELPER]) {
    const found: AuthLookup | undefined = helper === AUTH_FILES_HELPER ? lookupAuth(repository, {...options, credentialHelpers: [AUTH_FILES_HELPER]}) : {helper, source: 'registries.conf'}
    if (!found) continue
    if (!('helper' in found)) return credentialsOf(found)
    const creds = await runCredentialHelper(found.helper, registry)
    if (creds) return creds
  }
  return undefined
}

/** An auth-file entry as Credentials. */
export function credentialsOf(found: Exclude<AuthLookup, {helper: string}>): Credentials {
  if ('identitytoken' in found) return {username: found.username ?? '', password: '', identityToken: found.identitytoken}
  return {username: found.username, password: found.password}
}

/** What a helper has for a registry; undefined when it has nothing. */
export function runCredentialHelper(helper: string, registry: string): Promise<Credentials | undefined> {
  return callHelper(helper, 'get', registry, registry, []).then(stdout => {
    if (stdout === undefined) return undefined
    let data: {Username?: string; Secret?: string}
    try {
      data = JSON.parse(stdout) as {Username?: string; Secret?: string}
    } catch {
      throw new RegistryError(`getting credentials for ${registry}: docker-credential-${helper} answered something that is not JSON`)
    }
    if (!data.Secret) return undefined
    // Docker's helpers mark an identity token with this user name.
    if (data.Username === '<token>') return {username: '', password: '', identityToken: data.Secret}
    return {username: data.Username ?? '', password: data.Secret}
  })
}

/** `login` through a helper: `store` with the credentials as JSON on stdin. */
export async function storeWithCredentialHelper(helper: string, registry: string, creds: Credentials): Promise<void> {
  const input = JSON.stringify({ServerURL: registry, Username: creds.username, Secret: creds.password})
  await callHelper(helper, 'store', registry, input, [creds.password, creds.username])
}

/** `logout` through a helper; false when the helper had nothing for the registry. */
export async function eraseWithCredentialHelper(helper: string, registry: string): Promise<boolean> {
  return (await callHelper(helper, 'erase', registry, registry, [])) !== undefined
}

const ACTIONS = {get: 'getting credentials for', store: 'storing credentials for', erase: 'removing credentials for'} as const

/**
 * Runs `docker-credential-<helper> ACTION` with `input` on stdin; its stdout,
 * or undefined when it answers that it has no credentials (the helpers say so
 * on stdout with a failing status). `secrets` are cut out of any message the
 * helper prints before it becomes part of an error.
 */
async function callHelper(helper: string, action: keyof typeof ACTIONS, registry: string, input: string, secrets: string[]): Promise<string | undefined> {
  const command = `docker-credential-${helper}`
  const what = `${ACTIONS[action]} ${registry}`
  const {execFile} = await import('node:child_process')
  debug(`${command} ${action} ${registry}`)
  return new Promise((resolve, reject) => {
    const child = execFile(command, [action], {timeout: 30_000, maxBuffer: 1024 * 1024}, (err, stdout, stderr) => {
      if (!err) return resolve(stdout)
      if (isErrno(err, 'ENOENT')) {
        reject(new RegistryError(`${what}: ${command} not found in $PATH`, {hint: `Install ${command}, or remove "${helper}" from credHelpers/credsStore in the auth file or from credential-helpers in registries.conf`}))
        return
      }
      const said = firstLine(String(stdout).trim() || String(stderr).trim(), secrets)
      if (/credentials not found/i.test(said)) return resolve(undefined)
      const why = (err as {killed?: boolean}).killed ? 'timed out after 30 s' : `failed${said ? `: ${said}` : ''}`
      reject(new RegistryError(`${what}: ${command} ${action} ${why}`))
    })
    // A helper that exits without reading stdin must not turn into EPIPE.
    child.stdin?.on('error', () => {})
    child.stdin?.end(input)
  })
}

function firstLine(text: string, secrets: string[]): string {
  let line = text.split('\n')[0]!.slice(0, 200)
  for (const secret of secrets) if (secret.length > 0) line = line.replaceAll(secret, '***')
  return line
}

export function basicAuthorization(creds: Credentials): string {
  return 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64')
}

/** A scope for a repository: `repository:NAME:pull` or `repository:NAME:pull,push`. */
export function repositoryScope(repository: string, actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`
}
