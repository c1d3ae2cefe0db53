/**
 * Registry authentication: the WWW-Authenticate challenge, credentials from
 * flags, auth files or docker-credential helpers, and bearer tokens.
 * Nothing here puts a secret into a message.
 */
import {execFile} from 'node:child_process'
import {RegistryError, isErrno} from '../errors/index.js'

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

/** Ask a docker-credential-<helper> for a registry's credentials; undefined when it has none. */
export function runCredentialHelper(helper: string, registry: string): Promise<Credentials | undefined> {
  const command = `docker-credential-${helper}`
  return new Promise((resolve, reject) => {
    const child = execFile(command, ['get'], {timeout: 30_000, maxBuffer: 1024 * 1024}, (err, stdout) => {
      if (err) {
        if (isErrno(err, 'ENOENT')) {
          reject(new RegistryError(`getting credentials for ${registry}: ${command} not found in $PATH`, {hint: `Install ${command}, or remove the helper from the auth file`}))
          return
        }
        // Helpers answer "credentials not found" with a failure; that is "no credentials".
        if (/not found/i.test(String(stdout))) resolve(undefined)
        else reject(new RegistryError(`getting credentials for ${registry}: ${command} failed`))
        return
      }
      try {
        const data = JSON.parse(stdout) as {Username?: string; Secret?: string}
        if (!data.Secret) return resolve(undefined)
        if (data.Username === '<token>') resolve({username: '', password: '', identityToken: data.Secret})
        else resolve({username: data.Username ?? '', password: data.Secret})
      } catch {
        reject(new RegistryError(`getting credentials for ${registry}: ${command} answered something that is not JSON`))
      }
    })
    child.stdin?.end(registry)
  })
}

export function basicAuthorization(creds: Credentials): string {
  return 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64')
}

/** A scope for a repository: `repository:NAME:pull` or `repository:NAME:pull,push`. */
export function repositoryScope(repository: string, actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`
}
