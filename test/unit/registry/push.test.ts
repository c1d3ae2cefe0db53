import t, {type Test} from 'tap'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {RegistryClient} from '../../../src/registry/client.js'
import {CHUNK_SIZE, MONOLITHIC_LIMIT, parseUploadRange, uploadBlob} from '../../../src/registry/push.js'
import {lookupBlobInfo, recordBlobInfo} from '../../../src/registry/blob-info-cache.js'
import {normalizeReference, parseReference} from '../../../src/image/reference.js'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-push-'))
  t.teardown(() => rm(dir, {recursive: true, force: true}))
  return dir
}

t.test('parseUploadRange reads the bytes a registry holds from `Range: 0-N`', async t => {
  t.equal(parseUploadRange('0-1023'), 1024)
  t.equal(parseUploadRange('bytes=0-99'), 100)
  t.equal(parseUploadRange('0-0'), 0, 'distribution says 0-0 for an empty upload')
  t.equal(parseUploadRange(null), 0)
  t.equal(parseUploadRange('5-9'), 0, 'a range not from 0 is not an upload offset')
})

t.test('the blob-info cache keeps compressed forms by DiffID and compression, newest first', async t => {
  const root = tempDir(t)
  const diffId = 'sha256:' + '1'.repeat(64)
  t.same(lookupBlobInfo(root, diffId, 'gzip'), [], 'empty without a file')
  const a = {digest: 'sha256:' + 'a'.repeat(64), size: 10, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', compression: 'gzip', compressor: 'zlib'}
  const b = {...a, digest: 'sha256:' + 'b'.repeat(64), compressor: 'pigz'}
  const z = {...a, digest: 'sha256:' + 'c'.repeat(64), compression: 'zstd', compressor: 'zstd', mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd'}
  await recordBlobInfo(root, diffId, a)
  await recordBlobInfo(root, diffId, z)
  await recordBlobInfo(root, diffId, b)
  await recordBlobInfo(root, diffId, a)
  t.same(lookupBlobInfo(root, diffId, 'gzip').map(i => i.digest), [a.digest, b.digest], 'recorded again moves to the front, once')
  t.same(lookupBlobInfo(root, diffId, 'zstd'), [z])
  writeFileSync(join(root, 'blob-info-cache.json'), '{broken')
  t.same(lookupBlobInfo(root, diffId, 'gzip'), [], 'a damaged cache is an empty one')
})

/**
 * A registry's upload endpoint in miniature: PATCH appends when its
 * Content-Range starts where the upload stands, GET answers `Range: 0-N`,
 * PUT ?digest= checks the digest. `cut` decides whether a PATCH is dropped
 * after part of its body (nothing of it kept).
 */
async function uploadServer(t: Test, cut: (patch: number) => boolean): Promise<{host: string; log: string[]; received: () => Buffer}> {
  const log: string[] = []
  let data = Buffer.alloc(0)
  let patches = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x')
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    if (req.method === 'PATCH' && cut(++patches)) {
      log.push(`PATCH cut ${req.headers['content-range']}`)
      let seen = 0
      req.on('data', (c: Buffer) => {
        seen += c.length
        if (seen > 1024 * 1024) req.socket.destroy()
      })
      return
    }
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      if (url.pathname === '/v2/') return res.end('{}')
      if (req.method === 'HEAD') {
        res.statusCode = 404
        return res.end()
      }
      if (req.method === 'POST') {
        log.push('POST')
        res.statusCode = 202
        res.setHeader('Location', '/v2/a/blobs/uploads/u1')
        return res.end()
      }
      if (req.method === 'GET') {
        log.push(`GET 0-${Math.max(0, data.length - 1)}`)
        res.statusCode = 204
        res.setHeader('Range', `0-${Math.max(0, data.length - 1)}`)
        res.setHeader('Location', '/v2/a/blobs/uploads/u1')
        return res.end()
      }
      if (req.method === 'PATCH') {
        const range = String(req.headers['content-range'] ?? '')
        log.push(`PATCH ${range}`)
        if (Number(range.split('-')[0]) !== data.length) {
          res.statusCode = 416
          return res.end()
        }
        data = Buffer.concat([data, body])
        res.statusCode = 202
        res.setHeader('Location', '/v2/a/blobs/uploads/u1')
        return res.end()
      }
      if (req.method === 'PUT') {
        const digest = 'sha256:' + createHash('sha256').update(Buffer.concat([data, body])).digest('hex')
        log.push(digest === url.searchParams.get('digest') ? 'PUT ok' : 'PUT bad digest')
        res.statusCode = digest === url.searchParams.get('digest') ? 201 : 400
        return res.end()
      }
      res.statusCode = 405
      res.end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  server.on('connection', socket => t.teardown(() => socket.destroy()))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return {host: `127.0.0.1:${(server.address() as AddressInfo).port}`, log, received: () => data}
}

t.test('a chunked upload whose PATCH is cut asks the registry for its offset and goes on from there', async t => {
  const {host, log, received} = await uploadServer(t, patch => patch === 2)
  const dir = tempDir(t)
  const content = randomBytes(MONOLITHIC_LIMIT + 1024)
  const path = join(dir, 'blob')
  writeFileSync(path, content)
  const digest = 'sha256:' + createHash('sha256').update(content).digest('hex')
  const client = new RegistryClient({registry: host, insecure: true, tls: {}, credentials: async () => undefined, retries: 0, retryDelayMs: 1})
  const target = normalizeReference(parseReference(`${host}/a:1`))
  await uploadBlob(client, target, {descriptor: {mediaType: 'application/octet-stream', digest, size: content.length}, path, what: 'blob'}, [], {retry: 0, retryDelayMs: 1})
  client.close()
  t.same(log, [
    'POST',
    `PATCH 0-${CHUNK_SIZE - 1}`,
    `PATCH cut ${CHUNK_SIZE}-${2 * CHUNK_SIZE - 1}`,
    `GET 0-${CHUNK_SIZE - 1}`,
    `PATCH ${CHUNK_SIZE}-${2 * CHUNK_SIZE - 1}`,
    `PATCH ${2 * CHUNK_SIZE}-${content.length - 1}`,
    'PUT ok',
  ], 'one POST: the cut chunk is sent again from the offset the registry gave')
  t.ok(received().equals(content), 'the registry holds the blob')
})
