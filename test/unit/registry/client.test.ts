import t, {type Test} from 'tap'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {RegistryClient} from '../../../src/registry/client.js'
import type {Credentials} from '../../../src/registry/auth.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

async function serve(t: Test, handler: Handler): Promise<{host: string; server: Server}> {
  const server = createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  server.on('connection', socket => t.teardown(() => socket.destroy()))
  return {host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server}
}

function client(host: string, creds?: Credentials, retries = 2): RegistryClient {
  return new RegistryClient({registry: host, insecure: true, tls: {}, credentials: async () => creds, retries, retryDelayMs: 1})
}

t.test('bearer tokens: fetched with the credentials for the scope, reused across requests', async t => {
  let tokenRequests = 0
  let seenScope = ''
  let seenAuth = ''
  const {host} = await serve(t, (req, res) => {
    const url = new URL(req.url!, 'http://x')
    if (url.pathname === '/token') {
      tokenRequests++
      seenScope = url.searchParams.get('scope') ?? ''
      seenAuth = req.headers.authorization ?? ''
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({token: `tok-${tokenRequests}`}))
      return
    }
    if (req.headers.authorization !== 'Bearer tok-1') {
      res.statusCode = 401
      res.setHeader('WWW-Authenticate', `Bearer realm="http://${req.headers.host}/token",service="test"`)
      res.end()
      return
    }
    res.end('ok')
  })
  const c = client(host, {username: 'u', password: 'p'})
  for (let i = 0; i < 3; i++) {
    const res = await c.request('/v2/a/b/blobs/sha256:x', {scope: 'repository:a/b:pull'})
    t.equal(await res.text(), 'ok')
  }
  t.equal(tokenRequests, 1, 'one token for three blobs')
  t.equal(seenScope, 'repository:a/b:pull')
  t.equal(seenAuth, 'Basic dTpw', 'the token request carries the credentials')
  c.close()
})

t.test('429 and 5xx are retried with backoff, then succeed; too many give an error', async t => {
  let calls = 0
  const {host} = await serve(t, (req, res) => {
    if (req.url === '/v2/') return res.end('{}')
    calls++
    if (req.url === '/v2/flaky' && calls <= 2) {
      res.statusCode = calls === 1 ? 429 : 503
      return res.end()
    }
    if (req.url === '/v2/down') {
      res.statusCode = 500
      return res.end()
    }
    res.end('fine')
  })
  const c = client(host)
  t.equal(await (await c.request('/v2/flaky')).text(), 'fine')
  t.equal(calls, 3, 'two failures, then success')
  calls = 0
  await t.rejects(c.request('/v2/down', {what: 'thing'}), /thing: 127\.0\.0\.1:\d+ answers 500/)
  t.equal(calls, 3, 'the first try and two retries')
  c.close()
})

t.test('dropped connections are retried', async t => {
  let calls = 0
  const {host} = await serve(t, (req, res) => {
    if (req.url === '/v2/') return res.end('{}')
    calls++
    if (calls === 1) {
      req.socket.destroy()
      return
    }
    res.end('back')
  })
  const c = client(host)
  t.equal(await (await c.request('/v2/x')).text(), 'back')
  t.equal(calls, 2)
  c.close()
})

t.test('a redirect to another host does not carry the Authorization header', async t => {
  let storageAuth: string | undefined = 'unset'
  const storage = await serve(t, (req, res) => {
    storageAuth = req.headers.authorization
    res.end('blob bytes')
  })
  const storagePort = storage.host.split(':')[1]
  let registryAuth: string | undefined
  const {host} = await serve(t, (req, res) => {
    if (!req.headers.authorization) {
      res.statusCode = 401
      res.setHeader('WWW-Authenticate', 'Basic realm="r"')
      return res.end()
    }
    if (req.url === '/v2/') return res.end('{}')
    registryAuth = req.headers.authorization
    res.statusCode = 307
    res.setHeader('Location', `http://localhost:${storagePort}/blob`)
    res.end()
  })
  const c = client(host, {username: 'u', password: 'p'})
  t.equal(await (await c.request('/v2/a/blobs/sha256:x')).text(), 'blob bytes')
  t.equal(registryAuth, 'Basic dTpw', 'the registry got the credentials')
  t.equal(storageAuth, undefined, 'the blob store did not')
  c.close()
})

t.test('401 without credentials names the fix; 404 says not found', async t => {
  const {host} = await serve(t, (req, res) => {
    if (req.url === '/v2/') return res.end('{}')
    if (req.url === '/v2/gone') {
      res.statusCode = 404
      res.setHeader('Content-Type', 'application/json')
      return res.end(JSON.stringify({errors: [{code: 'BLOB_UNKNOWN', message: 'blob unknown to registry'}]}))
    }
    res.statusCode = 401
    res.setHeader('WWW-Authenticate', 'Basic realm="r"')
    res.end()
  })
  const c = client(host)
  const err = await c.request('/v2/private', {what: 'reg/x:1'}).catch((e: unknown) => e as Error & {hint?: string})
  t.match(err, {message: 'reg/x:1: authentication required', hint: `Run: tspod login ${host}`})
  await t.rejects(c.request('/v2/gone', {what: 'reg/x:1'}), /reg\/x:1: not found: blob unknown: blob unknown to registry/)
  c.close()
})

t.test('an insecure registry with a port that answers plain HTTP is used so, without a TLS attempt', async t => {
  let tlsAttempts = 0
  const {host, server} = await serve(t, (_req, res) => res.end('{}'))
  server.on('clientError', (_err, socket) => {
    tlsAttempts++
    socket.destroy()
  })
  const c = client(host)
  t.equal(await c.base(), `http://${host}`)
  t.equal(await c.base(), `http://${host}`, 'pinged once')
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(tlsAttempts, 0, 'no TLS handshake reached the server')
  c.close()
})
