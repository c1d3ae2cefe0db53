// Faults between tspod and a real registry, through a proxy of the test's
// own: a corrupted blob, a truncated one, a connection dropped mid-blob,
// 500s then success, 429 then success, and 401. Each gives the right error
// or a successful retry, and the store is left consistent. A blob cut off
// is resumed with Range by the next pull; an upload cut mid-PATCH goes on
// from what the registry has. Pushed layers have the same digest from any
// store, with pigz and with zlib. Also a manifest list with two platforms,
// pulled for each.
import t, {type Test} from 'tap'
import {createServer, request, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Transform} from 'node:stream'
import {createHash} from 'node:crypto'
import {gzipSync} from 'node:zlib'
import {expectExit, fixture, makeStore, tspod, type Store} from './harness.js'
import {makeFiveLayerArchive, startRegistry, writeRegistriesConf, type Registry} from './registry-harness.js'

type Fault = 'none' | 'corrupt' | 'truncate' | 'drop-once' | 'fail-twice' | 'throttle-once' | 'unauthorized' | 'cut-patch-once'

interface Proxy {
  host: string
  fault: Fault
  /** Blob GETs that reached the proxy since the last reset. */
  blobGets: number
  /** The Range header of each of those GETs ('' for none) and the status upstream answered. */
  blobRanges: Array<{range: string; status: number}>
  /** Requests on upload URLs since the last reset: `UUID METHOD status [Content-Range]`, status 0 for one the proxy cut. */
  uploads: string[]
}

function isLayerGet(req: IncomingMessage, layer: string): boolean {
  return req.method === 'GET' && req.url!.endsWith(`/blobs/${layer}`)
}

/** A proxy in front of `registry` that applies the current fault to GETs of `layer`. */
async function startProxy(t: Test, registry: Registry, layer: () => string): Promise<Proxy> {
  const state: Proxy = {host: '', fault: 'none', blobGets: 0, blobRanges: [], uploads: []}
  let failures = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const hit = isLayerGet(req, layer())
    if (hit) state.blobGets++
    const upload = req.url!.includes('/blobs/uploads/') && req.method !== 'POST'
    const contentRange = req.headers['content-range'] ? ` ${req.headers['content-range']}` : ''
    const uuid = /\/blobs\/uploads\/([^/?]+)/.exec(req.url!)?.[1] ?? ''
    if (upload && req.method === 'PATCH' && state.fault === 'cut-patch-once' && failures === 0) {
      // Take part of the body, then drop the connection: the registry never sees this PATCH.
      failures++
      let taken = 0
      req.on('data', (chunk: Buffer) => {
        taken += chunk.length
        if (taken >= 64 * 1024) req.socket.destroy()
      })
      req.on('end', () => req.socket.destroy())
      state.uploads.push(`${uuid} PATCH 0${contentRange}`)
      return
    }
    if (hit && state.fault === 'unauthorized') {
      res.writeHead(401, {'WWW-Authenticate': 'Basic realm="proxy"', 'Content-Type': 'application/json'})
      res.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]}))
      return
    }
    if (hit && (state.fault === 'fail-twice' || state.fault === 'throttle-once') && failures < (state.fault === 'fail-twice' ? 2 : 1)) {
      failures++
      res.writeHead(state.fault === 'fail-twice' ? 500 : 429, state.fault === 'throttle-once' ? {'Retry-After': '1'} : {})
      res.end()
      return
    }
    const upstream = request({host: '127.0.0.1', port: Number(registry.host.split(':')[1]), method: req.method, path: req.url, headers: req.headers}, up => {
      if (hit) state.blobRanges.push({range: String(req.headers.range ?? ''), status: up.statusCode ?? 0})
      if (upload) state.uploads.push(`${uuid} ${req.method} ${up.statusCode}${contentRange}`)
      res.writeHead(up.statusCode ?? 502, up.headers)
      if (!hit || state.fault === 'none' || state.fault === 'fail-twice' || state.fault === 'throttle-once') {
        up.pipe(res)
        return
      }
      const total = Number(up.headers['content-length'] ?? 0)
      let sent = 0
      const fault = state.fault
      const dropNow = fault === 'drop-once' && failures === 0
      if (fault === 'drop-once' && !dropNow) {
        up.pipe(res)
        return
      }
      up.pipe(new Transform({
        transform(chunk: Buffer, _enc, cb) {
          const start = sent
          sent += chunk.length
          if (fault === 'corrupt' && start <= total / 2 && sent > total / 2) {
            const copy = Buffer.from(chunk)
            const i = Math.floor(total / 2) - start
            copy[i] = copy[i]! ^ 0xff
            return cb(null, copy)
          }
          if ((fault === 'truncate' || dropNow) && sent > total / 2) {
            failures++
            cb(null, chunk.subarray(0, Math.max(0, Math.floor(total / 2) - start)))
            setImmediate(() => res.socket?.destroy())
            return
          }
          cb(null, chunk)
        },
      })).pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  server.on('connection', socket => t.teardown(() => socket.destroy()))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const reset = (fault: Fault): void => {
    state.fault = fault
    state.blobGets = 0
    state.blobRanges = []
    state.uploads = []
    failures = 0
  }
  return Object.assign(state, {reset}) as Proxy & {reset: typeof reset}
}

async function checkConsistent(t: Test, store: Store): Promise<void> {
  const check = await tspod(t, store, ['system', 'check'])
  expectExit(t, check, 0)
}

t.test('faults while pulling a blob', async t => {
  const registry = await startRegistry(t)
  let layer = ''
  const proxy = (await startProxy(t, registry, () => layer)) as Proxy & {reset(f: Fault): void}
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host, proxy.host])
  const image = `${registry.host}/faults/busybox:1`
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  const digestFile = join(a.dir, 'digest')
  expectExit(t, await tspod(t, a, ['push', '--digestfile', digestFile, image]), 0)
  const manifest = await fetch(`${registry.url}/v2/faults/busybox/manifests/1`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'}}).then(r => r.json()) as {config: {digest: string}; layers: Array<{digest: string}>}
  layer = manifest.layers[0]!.digest
  const viaProxy = `${proxy.host}/faults/busybox:1`
  const fast = ['--retry', '2', '--retry-delay', '10ms']

  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host, proxy.host])

  proxy.reset('corrupt')
  const corrupt = await tspod(t, b, ['pull', ...fast, viaProxy])
  expectExit(t, corrupt, 125, new RegExp(`blob ${layer}`))
  t.equal(proxy.blobGets, 3, 'a corrupt blob is fetched again, up to --retry times')
  t.equal((await tspod(t, b, ['images', '-q'])).stdout, '', 'no image appears')
  await checkConsistent(t, b)

  proxy.reset('truncate')
  const truncated = await tspod(t, b, ['pull', '--retry', '0', viaProxy])
  expectExit(t, truncated, 125, new RegExp(`blob ${layer}`))
  t.equal((await tspod(t, b, ['images', '-q'])).stdout, '', 'no image appears')
  await checkConsistent(t, b)

  proxy.reset('unauthorized')
  const denied = await tspod(t, b, ['pull', ...fast, viaProxy])
  expectExit(t, denied, 125, new RegExp(`authentication required.*\\nRun: tspod login ${proxy.host.replaceAll('.', '\\.')}`))

  proxy.reset('drop-once')
  const dropped = await tspod(t, b, ['pull', '-q', ...fast, viaProxy])
  expectExit(t, dropped, 0)
  t.equal(proxy.blobGets, 2, 'a dropped connection is retried')
  expectExit(t, await tspod(t, b, ['rmi', viaProxy]), 0)

  proxy.reset('fail-twice')
  const flaky = await tspod(t, b, ['pull', '-q', ...fast, viaProxy])
  expectExit(t, flaky, 0)
  t.equal(proxy.blobGets, 3, 'two 500s, then success')
  expectExit(t, await tspod(t, b, ['rmi', viaProxy]), 0)

  proxy.reset('throttle-once')
  const throttled = await tspod(t, b, ['pull', '-q', ...fast, viaProxy])
  expectExit(t, throttled, 0)
  t.equal(proxy.blobGets, 2, 'a 429 is waited out')
  await checkConsistent(t, b)
  expectExit(t, await tspod(t, b, ['rmi', viaProxy]), 0)

  // The layers are requested with the config: when the config fails, that
  // is the error, and the layer downloads already under way leave nothing.
  layer = manifest.config.digest
  proxy.reset('fail-twice')
  const noConfig = await tspod(t, b, ['pull', '--retry', '0', viaProxy])
  expectExit(t, noConfig, 125, new RegExp(`config ${manifest.config.digest}`))
  t.notMatch(noConfig.stderr.split('\n').find(line => line.startsWith('Error:')) ?? '', /blob sha256/, 'the error is the config\'s, not a layer\'s')
  t.equal((await tspod(t, b, ['images', '-q'])).stdout, '', 'no image appears')
  await checkConsistent(t, b)
  proxy.reset('none')
  expectExit(t, await tspod(t, b, ['pull', '-q', viaProxy]), 0)
  t.match(readFileSync(digestFile, 'utf8'), /^sha256:/)
})

t.test('a manifest list with two platforms', async t => {
  const registry = await startRegistry(t)
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host])
  const repo = `${registry.host}/multi/busybox`
  const amd = await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), `${repo}:amd64`])
  const arm = await tspod(t, a, ['import', '--arch', 'arm64', '--variant', 'v8', fixture('busybox-rootfs.tar'), `${repo}:arm64`])
  expectExit(t, amd, 0)
  expectExit(t, arm, 0)
  const entries = []
  for (const [tag, platform] of [['amd64', {os: 'linux', architecture: 'amd64'}], ['arm64', {os: 'linux', architecture: 'arm64', variant: 'v8'}]] as const) {
    const file = join(a.dir, `digest-${tag}`)
    expectExit(t, await tspod(t, a, ['push', '--digestfile', file, `${repo}:${tag}`]), 0)
    const res = await fetch(`${registry.url}/v2/multi/busybox/manifests/${tag}`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'}})
    const bytes = Buffer.from(await res.arrayBuffer())
    entries.push({mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: readFileSync(file, 'utf8'), size: bytes.length, platform})
  }
  const index = JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries})
  const put = await fetch(`${registry.url}/v2/multi/busybox/manifests/multi`, {method: 'PUT', headers: {'Content-Type': 'application/vnd.oci.image.index.v1+json'}, body: index})
  t.equal(put.status, 201, 'the index is in the registry')

  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host])
  const inspected = await tspod(t, b, ['manifest', 'inspect', `${repo}:multi`])
  expectExit(t, inspected, 0)
  const list = JSON.parse(inspected.stdout) as {manifests: Array<{platform: {architecture: string}}>}
  t.same(list.manifests.map(m => m.platform.architecture), ['amd64', 'arm64'], 'manifest inspect shows the remote list')
  t.match(inspected.stdout, /^\{\n {4}"schemaVersion": 2,/, 'indented as Podman prints it')
  const host = await tspod(t, b, ['pull', '-q', `${repo}:multi`])
  expectExit(t, host, 0)
  t.equal(host.stdout, amd.stdout.replace(/^sha256:/, ''), 'the host platform by default')
  const run = await tspod(t, b, ['run', '--rm', `${repo}:multi`, 'echo', 'ok'])
  expectExit(t, run, 0)
  t.equal(run.stdout.trim(), 'ok')
  const c = makeStore(t)
  writeRegistriesConf(c, [registry.host])
  const other = await tspod(t, c, ['pull', '-q', '--platform', 'linux/arm64', `${repo}:multi`])
  expectExit(t, other, 0)
  t.equal(other.stdout, arm.stdout.replace(/^sha256:/, ''), '--platform picks the other entry')
  const none = await tspod(t, c, ['pull', '--arch', 's390x', `${repo}:multi`])
  expectExit(t, none, 125, /no image for platform linux\/s390x in the manifest list \(it has linux\/amd64, linux\/arm64\/v8\)/)
})

t.test('an interrupted pull resumes with the layers already complete', async t => {
  const registry = await startRegistry(t)
  let layer = ''
  const proxy = (await startProxy(t, registry, () => layer)) as Proxy & {reset(f: Fault): void}
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host, proxy.host])
  const image = `${registry.host}/resume/five:1`
  const archive = join(a.dir, 'five.tar')
  await makeFiveLayerArchive(archive, image)
  expectExit(t, await tspod(t, a, ['load', '-i', archive]), 0)
  expectExit(t, await tspod(t, a, ['push', image]), 0)
  const manifest = await fetch(`${registry.url}/v2/resume/five/manifests/1`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'}}).then(r => r.json()) as {layers: Array<{digest: string}>}
  // The bottom layer is the big one; the last is cut off every time.
  layer = manifest.layers[4]!.digest
  const viaProxy = `${proxy.host}/resume/five:1`
  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host, proxy.host])
  proxy.reset('truncate')
  const cut = await tspod(t, b, ['pull', '--retry', '0', viaProxy])
  expectExit(t, cut, 125, new RegExp(`blob ${layer}`))
  t.equal((await tspod(t, b, ['images', '-q'])).stdout, '', 'no image appears')
  const check = await tspod(t, b, ['system', 'check'])
  expectExit(t, check, 0)
  t.match(check.stdout, /Leftover: layer sha256:[a-f0-9]{64} is not used by any image/, 'the complete layers stay for the next try, as leftovers check knows')
  proxy.reset('none')
  const resumed = await tspod(t, b, ['pull', viaProxy])
  expectExit(t, resumed, 0)
  t.equal(resumed.stderr.match(/skipped: already exists/g)?.length, 4, 'the four complete layers are not fetched again')
  t.equal(proxy.blobGets, 1, 'only the missing layer is fetched')
  const run = await tspod(t, b, ['run', '--rm', viaProxy, 'cat', '/layer4.txt'])
  expectExit(t, run, 0)
  t.equal(run.stdout, 'this is layer 4')
  await checkConsistent(t, b)
})

t.test('a blob cut off mid-way is resumed with Range by the next pull', async t => {
  const registry = await startRegistry(t)
  let layer = ''
  const proxy = (await startProxy(t, registry, () => layer)) as Proxy & {reset(f: Fault): void}
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host, proxy.host])
  const image = `${registry.host}/range/busybox:1`
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  expectExit(t, await tspod(t, a, ['push', image]), 0)
  const manifest = await fetch(`${registry.url}/v2/range/busybox/manifests/1`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'}}).then(r => r.json()) as {layers: Array<{digest: string; size: number}>}
  layer = manifest.layers[0]!.digest
  const size = manifest.layers[0]!.size
  const viaProxy = `${proxy.host}/range/busybox:1`
  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host, proxy.host])

  proxy.reset('truncate')
  expectExit(t, await tspod(t, b, ['pull', '--retry', '0', viaProxy]), 125, new RegExp(`blob ${layer}`))
  const partial = join(b.root, 'tmp', `partial-${layer.slice('sha256:'.length)}`)
  t.ok(existsSync(partial), 'the partial download is kept in tmp/, named by its digest')
  await checkConsistent(t, b)

  proxy.reset('none')
  expectExit(t, await tspod(t, b, ['pull', '-q', viaProxy]), 0)
  t.equal(proxy.blobRanges.length, 1, 'one request for the rest of the blob')
  const [first] = proxy.blobRanges
  const offset = Number(/^bytes=(\d+)-$/.exec(first?.range ?? '')?.[1])
  t.ok(offset > 0 && offset < size, `the pull asked for the missing part only (${first?.range}, of ${size} bytes)`)
  t.equal(first?.status, 206, 'the registry answered with the part')
  t.notOk(existsSync(partial), 'the partial download became the blob')
  const run = await tspod(t, b, ['run', '--rm', viaProxy, 'echo', 'resumed'])
  expectExit(t, run, 0)
  t.equal(run.stdout.trim(), 'resumed')
  await checkConsistent(t, b)
  t.same(readdirSync(join(b.root, 'tmp')).filter(n => n.startsWith('partial-')), [], 'nothing partial is left')
})

t.test('an upload cut mid-PATCH goes on from what the registry has', async t => {
  const registry = await startRegistry(t)
  const proxy = (await startProxy(t, registry, () => '')) as Proxy & {reset(f: Fault): void}
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host, proxy.host])
  const image = `${proxy.host}/upload/busybox:1`
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  proxy.reset('cut-patch-once')
  const pushed = await tspod(t, a, ['push', '--retry', '0', image])
  expectExit(t, pushed, 0)
  const cut = proxy.uploads.find(u => u.endsWith(' PATCH 0'))
  t.ok(cut, 'the proxy cut a PATCH')
  const uuid = cut!.split(' ')[0]!
  const after = proxy.uploads.filter(u => u.startsWith(`${uuid} `)).map(u => u.slice(uuid.length + 1)).slice(1)
  t.match(after[0], /^GET 204$/, 'then tspod asked the registry where the upload stands')
  t.match(after[1], /^PATCH 202 0-\d+$/, 'and sent the rest from the offset the registry gave')
  t.match(after[2], /^PUT 201$/, 'and finished the upload')
  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host])
  const run = await tspod(t, b, ['run', '--rm', `${registry.host}/upload/busybox:1`, 'echo', 'uploaded'])
  expectExit(t, run, 0)
  t.equal(run.stdout.trim(), 'uploaded')
})

t.test('pushed layers have the same digest from any store, with pigz and with zlib', async t => {
  const registry = await startRegistry(t)
  const tar = readFileSync(fixture('busybox-rootfs.tar'))
  const layerDigest = async (repo: string): Promise<string> => {
    const manifest = await fetch(`${registry.url}/v2/${repo}/manifests/1`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'}}).then(r => r.json()) as {layers: Array<{digest: string}>}
    return manifest.layers[0]!.digest
  }
  const digests: Record<string, string[]> = {pigz: [], zlib: []}
  for (const compressor of ['pigz', 'zlib'] as const) {
    for (const copy of [1, 2]) {
      const store = makeStore(t)
      writeRegistriesConf(store, [registry.host])
      const image = `${registry.host}/${compressor}${copy}/busybox:1`
      expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), image]), 0)
      const pushed = await tspod(t, store, ['--log-level=debug', 'push', image], {env: {TSPOD_COMPRESSOR: compressor}})
      expectExit(t, pushed, 0)
      t.match(pushed.stderr, new RegExp(`compressed by ${compressor} while uploading`), `compressed by ${compressor}`)
      digests[compressor]!.push(await layerDigest(`${compressor}${copy}/busybox`))
    }
  }
  t.equal(digests.pigz![0], digests.pigz![1], 'pigz gives the same layer digest from two stores')
  t.equal(digests.zlib![0], digests.zlib![1], 'zlib gives the same layer digest from two stores')
  const zlib = 'sha256:' + createHash('sha256').update(gzipSync(tar, {level: 6})).digest('hex')
  t.equal(digests.zlib![0], zlib, "zlib's layer is gzip level 6 of the tar")
})
