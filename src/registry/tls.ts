/**
 * TLS trust for one registry, as containers-certs.d(5) describes it: in the
 * first certs.d directory that exists for `host[:port]`, every `*.crt` is a
 * CA added to the system roots, and a `*.cert` with its `*.key` is the
 * client certificate. bin/tspod moves NODE_EXTRA_CA_CERTS aside to
 * TSPOD_EXTRA_CA_CERTS so that Node's start does not pay for it; the bundle
 * is read here, only when a registry is contacted over TLS.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {ConfigError} from '../errors/index.js'

export interface TlsMaterial {
  /** Undefined: Node's default roots suffice. */
  ca?: string[]
  cert?: string
  key?: string
  /** The directory the material came from, for messages. */
  dir?: string
  /** Where the user's own certs.d directory for this registry is (or would be), for hints. */
  userDir?: string
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`reading ${path}: ${(err as Error).message}`)
  }
}

/** Gather CAs and the client certificate for a registry from the first existing directory of `dirs`. */
export function loadTlsMaterial(dirs: string[], env: NodeJS.ProcessEnv = process.env): TlsMaterial {
  const material: TlsMaterial = {}
  if (dirs[0] !== undefined) material.userDir = dirs[0]
  const extra: string[] = []
  const bundle = env.TSPOD_EXTRA_CA_CERTS
  if (bundle && existsSync(bundle)) extra.push(readPem(bundle))
  const dir = dirs.find(d => existsSync(d))
  if (dir) {
    material.dir = dir
    const names = readdirSync(dir).sort()
    for (const name of names) if (name.endsWith('.crt')) extra.push(readPem(join(dir, name)))
    const cert = names.find(n => n.endsWith('.cert'))
    if (cert) {
      const key = cert.slice(0, -'.cert'.length) + '.key'
      if (!names.includes(key)) throw new ConfigError(`client certificate ${join(dir, cert)} has no key ${join(dir, key)}`, {hint: `Put the certificate's key next to it as ${key}`})
      material.cert = readPem(join(dir, cert))
      material.key = readPem(join(dir, key))
    }
  }
  if (extra.length > 0) material.ca = extra
  return material
}

/** The agent options for node:https: extra CAs come on top of the system roots, never instead. */
export async function createHttpsAgent(material: TlsMaterial, verify: boolean): Promise<import('node:https').Agent> {
  const [{Agent}, {rootCertificates}] = await Promise.all([import('node:https'), import('node:tls')])
  return new Agent({
    keepAlive: true,
    rejectUnauthorized: verify,
    ...(material.ca ? {ca: [...rootCertificates, ...material.ca]} : {}),
    ...(material.cert ? {cert: material.cert, key: material.key} : {}),
  })
}

export interface TlsFailure {
  /** `TLS with HOST failed: …`, one line. */
  message: string
  hint: string
}

const CLIENT_CERT_REFUSED = /certificate required|alert bad certificate|alert unknown ca|alert certificate unknown/i

/**
 * Words for a failed TLS exchange with `registry`: a registry that wants a
 * client certificate is told apart from one whose own certificate is not
 * trusted, since the fixes differ (a `*.cert`/`*.key` pair versus `ca.crt`).
 */
export function describeTlsFailure(err: unknown, registry: string, material: TlsMaterial): TlsFailure {
  const message = ((err as Error)?.message ?? String(err)).split('\n')[0]!
  const code = String((err as {code?: string})?.code ?? '')
  const where = material.dir ?? material.userDir ?? `~/.config/containers/certs.d/${registry}`
  if (CLIENT_CERT_REFUSED.test(message) || /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN/.test(code)) {
    const what = material.cert ? `the registry refused the client certificate from ${material.dir}` : 'the registry requires a client certificate and none was found'
    // OpenSSL's text around the alert (addresses, source files) helps nobody here.
    const alert = /alert ([a-z ]+?)(?::|$)/i.exec(message)?.[1]
    return {
      message: `TLS with ${registry} failed: ${what}${alert ? ` (TLS alert "${alert}")` : ''}`,
      hint: material.cert
        ? `Put a client certificate the registry accepts, as NAME.cert with its NAME.key, in ${where}`
        : `Put the client certificate and its key as NAME.cert and NAME.key (with the registry's CA as ca.crt) in ${where}, or pass that directory with --cert-dir`,
    }
  }
  return {
    message: `TLS with ${registry} failed: ${message}`,
    hint: `Put the registry's CA certificate in ${where}/ca.crt, or use --tls-verify=false (or insecure = true in registries.conf) for a registry you trust`,
  }
}
