import t, {type Test} from 'tap'
import {mkdirSync, mkdtempSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {RemoteCache, cacheRepository, cacheTag} from '../../../src/build/remote-cache.js'
import {loadConfig} from '../../../src/config/index.js'
import type {Engine} from '../../../src/engine/engine.js'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {Store} from '../../../src/storage/store.js'

const KEY = `sha256:${'ab'.repeat(32)}`

/** An engine over a private store and configuration: no registries.conf, no auth file of the user's. */
function makeEngine(t: Test): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-remote-cache-'))
  t.teardown(() => rm(dir, {recursive: true, force: true}))
  for (const sub of ['home', 'config', 'run', 'etc']) mkdirSync(join(dir, sub))
  const config = loadConfig({env: {HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: join(dir, 'run')}, etcDir: join(dir, 'etc'), root: join(dir, 'root'), runroot: join(dir, 'runroot')})
  const store = Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'runroot'), driver: 'overlay'})
  return {config, store, rootless: true, driver: {driver: 'overlay'}} as unknown as Engine
}

/** A registry that answers /v2/ and says every manifest is `present` or not; requests are logged. */
async function fakeRegistry(t: Test, present: boolean): Promise<{host: string; log: string[]}> {
  const log: string[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    log.push(`${req.method} ${req.url}`)
    req.resume()
    if (req.url === '/v2/') return void res.writeHead(200, {'Content-Type': 'application/json'}).end('{}')
    if (req.method === 'HEAD' && /\/manifests\//.test(req.url ?? '') && present) {
      return void res.writeHead(200, {'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': `sha256:${'0'.repeat(64)}`}).end()
    }
    res.writeHead(404, {'Content-Type': 'application/json'}).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return {host: `127.0.0.1:${(server.address() as AddressInfo).port}`, log}
}

t.test('cacheRepository qualifies a repository and refuses a tag or digest', async t => {
  t.equal(cacheRepository('quay.io/me/cache', '--cache-to'), 'quay.io/me/cache')
  t.equal(cacheRepository('docker://localhost:5000/cache', '--cache-to'), 'localhost:5000/cache')
  t.equal(cacheRepository('cache', '--cache-from'), 'docker.io/library/cache', 'a short name is a Docker Hub name, as for push')
  t.throws(() => cacheRepository('quay.io/me/cache:1', '--cache-from'), InvalidArgumentError)
  t.throws(() => cacheRepository(`quay.io/me/cache@sha256:${'a'.repeat(64)}`, '--cache-from'), {message: /--cache-from .*: name a repository without a tag or digest/})
  t.throws(() => cacheRepository('Not A Name', '--cache-to'), InvalidArgumentError)
})

t.test('cacheTag is the cache key\'s hex digits', async t => {
  t.equal(cacheTag(KEY), 'ab'.repeat(32))
})

t.test('a repository without the tag is a quiet miss, tried in order', async t => {
  const engine = makeEngine(t)
  const a = await fakeRegistry(t, false)
  const b = await fakeRegistry(t, false)
  const warnings: string[] = []
  const cache = new RemoteCache(engine, {from: [`${a.host}/cache`, `${b.host}/cache`], to: [], access: {tlsVerify: false}, onWarning: m => warnings.push(m)})
  t.equal(await cache.fetch(KEY, []), undefined)
  t.same(warnings, [])
  const head = `HEAD /v2/cache/manifests/${cacheTag(KEY)}`
  t.ok(a.log.includes(head) && b.log.includes(head), 'both repositories were asked for the key\'s tag', {a: a.log, b: b.log})
})

t.test('an unreachable repository is one warning, then left alone for pulls and pushes', async t => {
  const engine = makeEngine(t)
  const warnings: string[] = []
  const down = '127.0.0.1:1/cache'
  const cache = new RemoteCache(engine, {from: [down], to: [down], access: {tlsVerify: false, retry: 0}, onWarning: m => warnings.push(m)})
  t.equal(await cache.fetch(KEY, []), undefined)
  t.equal(await cache.fetch(KEY, []), undefined)
  cache.offer(KEY, 'c'.repeat(64), {built: true})
  await cache.flush()
  t.equal(warnings.length, 1, 'one warning', {warnings})
  t.match(warnings[0], /^build cache repository 127\.0\.0\.1:1\/cache: .*; not used for the rest of this build$/)
  t.notMatch(warnings[0], /\n/, 'one line')
})

t.test('a step taken from a cache is pushed only where the tag is missing, never back where it came from', async t => {
  const engine = makeEngine(t)
  const has = await fakeRegistry(t, true)
  const warnings: string[] = []
  const cache = new RemoteCache(engine, {from: [], to: [`${has.host}/cache`, `${has.host}/origin`], access: {tlsVerify: false}, onWarning: m => warnings.push(m)})
  cache.offer(KEY, 'c'.repeat(64), {built: false, repository: `${has.host}/origin`})
  await cache.flush()
  t.same(warnings, [])
  t.same(has.log.filter(l => !l.startsWith('GET /v2/ ') && l !== 'GET /v2/'), [`HEAD /v2/cache/manifests/${cacheTag(KEY)}`], 'asked once, pushed nothing')
})
