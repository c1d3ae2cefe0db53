// A real registry for the end-to-end tests: Debian's docker-registry
// (distribution 2.8) on a free loopback port, with its own storage in a
// temporary directory, stopped when the test ends. Variants: plain HTTP,
// htpasswd basic auth, TLS with a CA made here by openssl (optionally
// requiring a client certificate), bearer tokens from a token server of the
// test's own (with the OAuth2 refresh-token grant for identity tokens).
//
// The htpasswd file needs bcrypt: `htpasswd -B` (apache2-utils) when it is
// installed, else Python's crypt module (libxcrypt does bcrypt).
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'
import type {Test} from 'tap'
import {createHash} from 'node:crypto'
import {gzipSync} from 'node:zlib'
import {pack} from 'tar-stream'
import {fixture, requireUser, type Store} from './harness.js'

const REGISTRY_BIN = '/usr/bin/docker-registry'
const START_TIMEOUT_MS = 20_000

export interface RegistryOptions {
  /** htpasswd basic auth with this user. */
  auth?: {username: string; password: string}
  /** Serve HTTPS with a certificate signed by a CA made for this registry. */
  tls?: boolean
  /** Bearer tokens from a token server of the test's own (see startTokenServer). */
  token?: TokenServer
  /** With tls: refuse clients without a certificate signed by the registry's CA. */
  clientCerts?: boolean
}

export interface Registry {
  /** `127.0.0.1:PORT`: the registry part of references. */
  host: string
  url: string
  dir: string
  /** The CA certificate that signed the server's (TLS only), readable by the test user. */
  caFile?: string
  /** A directory in certs.d layout holding ca.crt (TLS only), readable by the test user. */
  certDir?: string
  /** clientCerts only: a certs.d-layout directory holding ca.crt, client.cert and client.key, owned by the test user. */
  clientCertDir?: string
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function bcryptHash(password: string): string {
  try {
    const line = execFileSync('htpasswd', ['-nbB', 'x', password], {encoding: 'utf8'}).trim()
    return line.slice(line.indexOf(':') + 1)
  } catch {
    return execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))', password], {encoding: 'utf8'}).trim()
  }
}

function makeCertificates(dir: string): {ca: string; cert: string; key: string} {
  const ca = join(dir, 'ca.crt')
  const caKey = join(dir, 'ca.key')
  const key = join(dir, 'server.key')
  const csr = join(dir, 'server.csr')
  const cert = join(dir, 'server.crt')
  const ext = join(dir, 'server.ext')
  const quiet = {stdio: 'ignore' as const}
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=tspod test CA'], quiet)
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1'], quiet)
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n')
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], quiet)
  return {ca, cert, key}
}

/** A client certificate signed by the CA makeCertificates made in `dir`. */
function makeClientCertificate(dir: string): {cert: string; key: string} {
  const key = join(dir, 'client.key')
  const csr = join(dir, 'client.csr')
  const cert = join(dir, 'client.cert')
  const ext = join(dir, 'client.ext')
  const quiet = {stdio: 'ignore' as const}
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=tspod test client'], quiet)
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n')
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], quiet)
  return {cert, key}
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string, client?: {cert: string; key: string}): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  const {request} = await import('node:https')
  const http = await import('node:http')
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`)
    const status = await new Promise<number>(resolve => {
      const get = url.startsWith('https:') ? request : http.request
      const req = get(`${url}/v2/`, {rejectUnauthorized: false, ...(client ? {cert: readFileSync(client.cert), key: readFileSync(client.key)} : {})} as never, res => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', () => resolve(0))
      req.end()
    })
    if (status === 200 || status === 401) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`docker-registry did not answer ${url}/v2/ within ${START_TIMEOUT_MS} ms: ${log()}`)
}

/** Start a registry for one test; it is stopped and its storage removed when the test ends. */
export async function startRegistry(t: Test, options: RegistryOptions = {}): Promise<Registry> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} is missing: run \`npm run setup\` as root (it installs docker-registry)`)
  const dir = mkdtempSync('/tmp/tspod-registry-')
  chmodSync(dir, 0o755)
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
  ]
  let caFile: string | undefined
  let certDir: string | undefined
  let clientCertDir: string | undefined
  let client: {cert: string; key: string} | undefined
  if (options.tls) {
    const certs = makeCertificates(dir)
    lines.push('  tls:', `    certificate: ${certs.cert}`, `    key: ${certs.key}`)
    caFile = certs.ca
    certDir = join(dir, 'certs.d')
    mkdirSync(certDir, {mode: 0o755})
    writeFileSync(join(certDir, 'ca.crt'), readFileSync(certs.ca))
    chmodSync(join(certDir, 'ca.crt'), 0o644)
    chmodSync(caFile, 0o644)
    if (options.clientCerts) {
      lines.push('    clientcas:', `      - ${certs.ca}`)
      client = makeClientCertificate(dir)
      clientCertDir = join(dir, 'client-certs.d')
      mkdirSync(clientCertDir, {mode: 0o700})
      writeFileSync(join(clientCertDir, 'ca.crt'), readFileSync(certs.ca))
      writeFileSync(join(clientCertDir, 'client.cert'), readFileSync(client.cert))
      writeFileSync(join(clientCertDir, 'client.key'), readFileSync(client.key), {mode: 0o600})
      for (const name of ['', 'ca.crt', 'client.cert', 'client.key']) ownToUser(join(clientCertDir, name))
    }
  } else if (options.clientCerts) {
    throw new Error('startRegistry: clientCerts needs tls')
  }
  if (options.auth) {
    const htpasswd = join(dir, 'htpasswd')
    writeFileSync(htpasswd, `${options.auth.username}:${bcryptHash(options.auth.password)}\n`)
    lines.push('auth:', '  htpasswd:', '    realm: tspod-test', `    path: ${htpasswd}`)
  }
  if (options.token) {
    lines.push('auth:', '  token:', `    realm: ${options.token.realm}`, `    service: ${options.token.service}`, `    issuer: ${options.token.issuer}`, `    rootcertbundle: ${options.token.certFile}`)
  }
  const config = join(dir, 'config.yml')
  writeFileSync(config, lines.join('\n') + '\n')
  const child = spawn(REGISTRY_BIN, ['serve', config], {stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  const keep = (chunk: Buffer): void => {
    if (log.length < 16_384) log += chunk.toString()
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const url = `${options.tls ? 'https' : 'http'}://${host}`
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    await rm(dir, {recursive: true, force: true})
  }
  t.teardown(stop)
  try {
    await waitUntilUp(url, child, () => log, client)
  } catch (err) {
    await stop()
    throw err
  }
  return {host, url, dir, caFile, certDir, clientCertDir, stop}
}

/**
 * Writes registries.conf into the store's XDG_CONFIG_HOME: the given
 * registries marked insecure (plain HTTP allowed, TLS unverified), and
 * short-name resolution through the first of them.
 */
export function writeRegistriesConf(store: Store, insecure: string[], extra = ''): void {
  const user = requireUser()
  const dir = join(store.configHome, 'containers')
  mkdirSync(dir, {recursive: true, mode: 0o755})
  const entries = insecure.map(host => `[[registry]]\nlocation = "${host}"\ninsecure = true\n`).join('\n')
  const file = join(dir, 'registries.conf')
  writeFileSync(file, `unqualified-search-registries = [${insecure.map(h => `"${h}"`).join(', ')}]\nshort-name-mode = "permissive"\n\n${entries}\n${extra}`)
  if (user.switched) {
    chownSync(dir, user.uid, user.gid)
    chownSync(file, user.uid, user.gid)
  }
}

export interface TokenServer {
  realm: string
  service: string
  issuer: string
  /** The certificate whose key signs the tokens: the registry's rootcertbundle. */
  certFile: string
  /** Token requests seen: the scopes asked for, whom they were granted to, and the OAuth2 grant of a POST. */
  requests: Array<{scope: string[]; user?: string; grant?: string}>
}

export interface TokenServerOptions {
  /** An identity token (OAuth2 refresh token) that the POST grant_type=refresh_token flow accepts for the user. */
  identityToken?: string
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url')
}

/**
 * A token server as the distribution spec describes it: anonymous callers get
 * pull on every repository, `username`/`password` (GET with basic auth) or
 * the identity token (POST grant_type=refresh_token, as in the spec's OAuth2
 * flow) get pull and push. Tokens are JWTs signed RS256 with a key whose
 * certificate travels in the x5c header.
 */
export async function startTokenServer(t: Test, user: {username: string; password: string}, options: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = mkdtempSync('/tmp/tspod-token-')
  t.teardown(() => rm(dir, {recursive: true, force: true}))
  const key = join(dir, 'token.key')
  const certFile = join(dir, 'token.crt')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', certFile, '-days', '2', '-subj', '/CN=tspod token issuer'], {stdio: 'ignore'})
  const {createPrivateKey, createSign, X509Certificate, randomBytes} = await import('node:crypto')
  const {createServer: createHttpServer} = await import('node:http')
  const privateKey = createPrivateKey(readFileSync(key))
  const der = new X509Certificate(readFileSync(certFile)).raw
  const service = 'tspod-test-registry'
  const issuer = 'tspod-test-issuer'
  const requests: TokenServer['requests'] = []
  const refuse = (res: import('node:http').ServerResponse, message: string): void => {
    res.writeHead(401, {'Content-Type': 'application/json'})
    res.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message}]}))
  }
  const grant = (res: import('node:http').ServerResponse, scopes: string[], who: string | undefined, oauth: boolean): void => {
    const access = scopes.flatMap(scope => {
      const [type, name, actions] = scope.split(':')
      if (type !== 'repository' || !name || !actions) return []
      const granted = actions.split(',').filter(a => a === 'pull' || (who && a === 'push'))
      return [{type, name, actions: granted}]
    })
    const now = Math.floor(Date.now() / 1000)
    const header = {alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')]}
    const claims = {iss: issuer, sub: who ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access}
    const signing = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
    const signature = createSign('RSA-SHA256').update(signing).sign(privateKey)
    const token = `${signing}.${base64url(signature)}`
    res.writeHead(200, {'Content-Type': 'application/json'})
    res.end(JSON.stringify(oauth ? {access_token: token, expires_in: 300, scope: scopes.join(' ')} : {token, expires_in: 300}))
  }
  const server = createHttpServer((req, res) => {
    if (req.method === 'POST') {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString())
        const kind = form.get('grant_type') ?? ''
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean)
        if (kind !== 'refresh_token' || !options.identityToken || form.get('refresh_token') !== options.identityToken || form.get('service') !== service) {
          requests.push({scope: scopes, grant: kind})
          refuse(res, 'invalid refresh token')
          return
        }
        requests.push({scope: scopes, user: user.username, grant: kind})
        grant(res, scopes, user.username, true)
      })
      return
    }
    const url = new URL(req.url ?? '/', 'http://x')
    const scopes = url.searchParams.getAll('scope')
    let who: string | undefined
    const auth = req.headers.authorization
    if (auth?.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString()
      if (decoded !== `${user.username}:${user.password}`) {
        refuse(res, 'bad credentials')
        return
      }
      who = user.username
    }
    requests.push({scope: scopes, user: who})
    grant(res, scopes, who, false)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  server.on('connection', socket => t.teardown(() => socket.destroy()))
  const port = (server.address() as {port: number}).port
  chmodSync(dir, 0o755)
  return {realm: `http://127.0.0.1:${port}/token`, service, issuer, certFile, requests}
}

function ownToUser(path: string): void {
  const user = requireUser()
  if (user.switched) chownSync(path, user.uid, user.gid)
}

function sha256(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex')
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack()
  for (const [name, content] of Object.entries(files)) p.entry({name, mode: 0o644, mtime: new Date(0)}, content)
  p.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of p) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** An oci-archive with busybox as the bottom layer and four gzip layers of one file each on top. */
export async function makeFiveLayerArchive(path: string, name: string): Promise<void> {
  const blobs = new Map<string, Buffer>()
  const layers: Array<{mediaType: string; digest: string; size: number}> = []
  const diffIds: string[] = []
  const base = readFileSync(fixture('busybox-rootfs.tar'))
  blobs.set(sha256(base), base)
  layers.push({mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(base), size: base.length})
  diffIds.push(sha256(base))
  for (let i = 1; i <= 4; i++) {
    const tar = await tarOf({[`layer${i}.txt`]: `this is layer ${i}\n`})
    const gz = gzipSync(tar)
    blobs.set(sha256(gz), gz)
    layers.push({mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length})
    diffIds.push(sha256(tar))
  }
  const config = Buffer.from(JSON.stringify({
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: {Cmd: ['/bin/sh']},
    rootfs: {type: 'layers', diff_ids: diffIds},
    history: diffIds.map(() => ({created: '2024-01-01T00:00:00Z', created_by: 'test'})),
  }))
  blobs.set(sha256(config), config)
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length},
    layers,
  }))
  blobs.set(sha256(manifest), manifest)
  const index = {
    schemaVersion: 2,
    manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: {'org.opencontainers.image.ref.name': name}}],
  }
  const p = pack()
  p.entry({name: 'oci-layout'}, JSON.stringify({imageLayoutVersion: '1.0.0'}))
  p.entry({name: 'index.json'}, JSON.stringify(index))
  for (const [digest, data] of blobs) p.entry({name: `blobs/sha256/${digest.slice(7)}`}, data)
  p.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of p) chunks.push(chunk as Buffer)
  writeFileSync(path, Buffer.concat(chunks))
  ownToUser(path)
}

