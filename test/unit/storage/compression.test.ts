import t from 'tap'
import {spawnSync} from 'node:child_process'
import {Readable} from 'node:stream'
import {text} from 'node:stream/consumers'
import {gzipSync} from 'node:zlib'
import {GZIP_LEVEL, MAGIC_LENGTH, compressStream, decompressStream, detectCompression, gzipCompressor, peekStream} from '../../../src/storage/compression.js'
import {buffer} from 'node:stream/consumers'
import {gunzipSync} from 'node:zlib'

const payload = 'layer bytes\n'.repeat(10_000)

function compressWith(command: string, input: string): Buffer | undefined {
  const result = spawnSync(command, ['-c'], {input})
  return result.status === 0 ? result.stdout : undefined
}

t.test('detectCompression tells kinds apart by magic bytes', async t => {
  t.equal(detectCompression(gzipSync('x')), 'gzip')
  t.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])), 'zstd')
  t.equal(detectCompression(Buffer.from('BZh91AY')), 'bzip2')
  t.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz')
  t.equal(detectCompression(Buffer.from('ustar tar header')), 'none')
  t.equal(detectCompression(Buffer.from([0x1f])), 'none', 'too short to tell')
  t.equal(detectCompression(Buffer.alloc(0)), 'none')
})

t.test('gzip is undone in-process', async t => {
  const out = decompressStream(Readable.from([gzipSync(payload)]), 'gzip')
  t.equal(await text(out), payload)
})

t.test('corrupt gzip is a StorageError', async t => {
  const broken = gzipSync(payload)
  broken.fill(0x55, 20, 60)
  await t.rejects(text(decompressStream(Readable.from([broken]), 'gzip')), {name: 'StorageError', message: /^decompressing gzip stream: /})
})

for (const [kind, command] of [
  ['zstd', 'zstd'],
  ['xz', 'xz'],
  ['bzip2', 'bzip2'],
] as const) {
  const compressed = compressWith(command, payload)
  t.test(`${kind} is undone by the ${command} binary`, {skip: compressed ? false : `${command} not installed`}, async t => {
    const input = compressed as Buffer
    t.equal(detectCompression(input), kind)
    t.equal(await text(decompressStream(Readable.from([input]), kind)), payload)

    const truncated = input.subarray(0, Math.floor(input.length / 2))
    await t.rejects(text(decompressStream(Readable.from([truncated]), kind)), {
      name: 'StorageError',
      message: new RegExp(`^decompressing ${kind} stream: ${command}: .+`),
    })
  })
}

t.test('a missing decompressor names its package', async t => {
  const path = process.env.PATH
  process.env.PATH = '/nonexistent'
  t.teardown(() => {
    process.env.PATH = path
  })
  await t.rejects(text(decompressStream(Readable.from([Buffer.from('x')]), 'zstd')), {
    name: 'StorageError',
    message: 'decompressing zstd stream: zstd not found',
    hint: 'apt-get install zstd',
  })
})

t.test('peekStream looks ahead without losing bytes', async t => {
  const source = Readable.from([Buffer.from([0x28]), Buffer.from([0xb5, 0x2f]), Buffer.from([0xfd, 1, 2, 3, 4])], {objectMode: false})
  const {head, stream} = await peekStream(source, MAGIC_LENGTH)
  t.same([...head], [0x28, 0xb5, 0x2f, 0xfd, 1, 2])
  const rest: Buffer[] = []
  for await (const chunk of stream) rest.push(chunk as Buffer)
  t.same([...Buffer.concat(rest)], [0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4])

  const short = await peekStream(Readable.from([Buffer.from('ab')], {objectMode: false}), MAGIC_LENGTH)
  t.equal(short.head.toString(), 'ab', 'a stream shorter than asked gives what there is')
  t.equal(await text(short.stream), 'ab')

  const empty = await peekStream(Readable.from([], {objectMode: false}), MAGIC_LENGTH)
  t.equal(empty.head.length, 0)
  t.equal(await text(empty.stream), '')
})

t.test('peek, detect and decompress a gzip stream end to end', async t => {
  const {head, stream} = await peekStream(Readable.from([gzipSync(payload)], {objectMode: false}), MAGIC_LENGTH)
  const kind = detectCompression(head)
  t.equal(kind, 'gzip')
  t.equal(await text(decompressStream(stream, kind)), payload)
})

t.test('compressStream: zlib gives gzip level 6 exactly; pigz, when installed, the same bytes with any thread count', async t => {
  const input = Buffer.from(payload)
  const zlib = compressStream(Readable.from([input], {objectMode: false}), 'gzip', {TSPOD_COMPRESSOR: 'zlib'})
  t.equal(zlib.compressor, 'zlib')
  t.same(await buffer(zlib.stream), gzipSync(input, {level: GZIP_LEVEL}), 'deterministic: what zlib gives for that level')
  if (gzipCompressor({PATH: process.env.PATH}) !== 'pigz') {
    t.fail('pigz is not installed: run scripts/setup.sh as root (it installs pigz)')
    return
  }
  const first = compressStream(Readable.from([input], {objectMode: false}), 'gzip', {PATH: process.env.PATH})
  t.equal(first.compressor, 'pigz')
  const bytes = await buffer(first.stream)
  t.same(gunzipSync(bytes), input, 'pigz output decompresses to the input')
  const single = spawnSync('pigz', ['-c', '-n', `-${GZIP_LEVEL}`, '-b', '128', '-p', '1'], {input})
  t.same(bytes, single.stdout, 'the same bytes as pigz on one thread')
  t.same(await buffer(compressStream(Readable.from([input], {objectMode: false}), 'gzip', {PATH: process.env.PATH}).stream), bytes, 'and the same again')
})

t.test('compressStream: a failing input surfaces as an error, never as a short stream', async t => {
  const broken = new Readable({read() {
    this.push(Buffer.from(payload))
    this.destroy(new Error('disk went away'))
  }})
  await t.rejects(buffer(compressStream(broken, 'gzip', {PATH: process.env.PATH}).stream), /disk went away/)
})
