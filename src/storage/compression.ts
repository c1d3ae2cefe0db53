/**
 * Compression of layers and archives: recognise it by magic bytes, undo it
 * as a stream, and apply it for push.
 *
 * Node 20's zlib has gzip but no zstd, so zstd (and the rarer bzip2 and xz)
 * run as the system binaries, fed through pipes. Their output is held back
 * from its end until the binary has exited: a (de)compressor that fails half
 * way must surface as an error, never as a stream that merely ends early.
 * gzip compression uses pigz when it is installed: it spreads the work over
 * every core, which zlib cannot. Its output is the same for the same input
 * whatever the number of threads (fixed level and block size, no name or
 * time stamp), but it is not zlib's output: a layer's compressed digest
 * depends on which of the two ran.
 */
import {spawn} from 'node:child_process'
import {accessSync, constants as fsConstants} from 'node:fs'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {PassThrough, Readable} from 'node:stream'
import {createGunzip, createGzip} from 'node:zlib'
import {StorageError, isErrno} from '../errors/index.js'

export type Compression = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none'

const MAGICS: ReadonlyArray<[Exclude<Compression, 'none'>, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
]

/** The number of leading bytes detectCompression needs to tell every kind apart. */
export const MAGIC_LENGTH = 6

export function detectCompression(firstBytes: Buffer): Compression {
  for (const [kind, magic] of MAGICS) {
    if (firstBytes.length >= magic.length && magic.every((byte, i) => firstBytes[i] === byte)) return kind
  }
  return 'none'
}

const TOOLS: Record<'zstd' | 'bzip2' | 'xz', {command: string; pkg: string}> = {
  zstd: {command: 'zstd', pkg: 'zstd'},
  bzip2: {command: 'bzip2', pkg: 'bzip2'},
  xz: {command: 'xz', pkg: 'xz-utils'},
}

/** A stream of `input` with `kind` compression undone; errors arrive as StorageError on the result. */
export function decompressStream(input: Readable, kind: Compression): Readable {
  if (kind === 'none') return input
  if (kind === 'gzip') return gunzipStream(input)
  return spawnDecompressor(input, kind)
}

function gunzipStream(input: Readable): Readable {
  const out = new PassThrough()
  const gunzip = createGunzip({chunkSize: 256 * 1024})
  input.on('error', err => {
    gunzip.destroy()
    out.destroy(err)
  })
  gunzip.on('error', err => {
    input.destroy()
    out.destroy(new StorageError(`decompressing gzip stream: ${err.message}`, {cause: err}))
  })
  out.on('close', () => {
    if (!gunzip.writableFinished) {
      gunzip.destroy()
      input.destroy()
    }
  })
  input.pipe(gunzip).pipe(out)
  return out
}

function spawnDecompressor(input: Readable, kind: 'zstd' | 'bzip2' | 'xz'): Readable {
  const {command, pkg} = TOOLS[kind]
  return spawnFilter(input, command, ['-dc'], `decompressing ${kind} stream`, pkg)
}

/** `input` through `command args` (stdin to stdout); failures, including a non-zero exit, arrive as StorageError. */
function spawnFilter(input: Readable, command: string, args: string[], what: string, pkg: string): Readable {
  const out = new PassThrough({highWaterMark: 1024 * 1024})
  const child = spawn(command, args, {stdio: ['pipe', 'pipe', 'pipe']})
  let stderr = ''
  let settled = false
  const fail = (err: Error): void => {
    if (settled) return
    settled = true
    input.destroy()
    child.kill('SIGKILL')
    out.destroy(err)
  }
  child.on('error', err => {
    if (isErrno(err, 'ENOENT')) {
      fail(new StorageError(`${what}: ${command} not found`, {hint: `apt-get install ${pkg}`, cause: err}))
    } else {
      fail(new StorageError(`${what}: cannot run ${command}: ${err.message}`, {cause: err}))
    }
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk
  })
  // The child's death is reported by its exit status; EPIPE on its stdin adds nothing.
  child.stdin.on('error', () => {})
  input.on('error', err => fail(err))
  input.pipe(child.stdin)
  child.stdout.pipe(out, {end: false})
  child.on('close', (code, signal) => {
    if (settled) return
    if (code === 0) {
      settled = true
      out.end()
      return
    }
    const cause = stderr.trim().split('\n').filter(Boolean).pop() ?? (signal ? `killed by ${signal}` : `exit status ${code}`)
    fail(new StorageError(`${what}: ${command}: ${cause}`))
  })
  out.on('close', () => {
    if (!settled) fail(new Error(`${what}: stream closed by its reader`))
  })
  return out
}

/** The gzip level push uses, as Podman's default: a fixed one, so the same layer gives the same digest. */
export const GZIP_LEVEL = 6
/** pigz's block size in KiB; fixed because it shapes pigz's output. */
const PIGZ_BLOCK_KIB = 128

export type Compressor = 'pigz' | 'zlib' | 'zstd'

let pigzPath: string | null | undefined

/**
 * Which program compresses gzip: pigz when it is on PATH, else Node's zlib.
 * TSPOD_COMPRESSOR=zlib (or pigz) chooses one explicitly.
 */
export function gzipCompressor(env: NodeJS.ProcessEnv = process.env): 'pigz' | 'zlib' {
  const wanted = env.TSPOD_COMPRESSOR
  if (wanted === 'zlib') return 'zlib'
  if (pigzPath === undefined) pigzPath = findExecutable('pigz', env.PATH ?? '')
  if (wanted === 'pigz' && pigzPath === null) throw new StorageError('TSPOD_COMPRESSOR=pigz: pigz not found in PATH', {hint: 'apt-get install pigz'})
  return pigzPath === null ? 'zlib' : 'pigz'
}

function findExecutable(name: string, path: string): string | null {
  for (const dir of path.split(':')) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // Not in this directory.
    }
  }
  return null
}

/** `input` compressed as `kind`, and which program does it (it decides the digest). */
export function compressStream(input: Readable, kind: 'gzip' | 'zstd', env: NodeJS.ProcessEnv = process.env): {stream: Readable; compressor: Compressor} {
  if (kind === 'zstd') return {stream: spawnFilter(input, 'zstd', ['-q', '-c', '-3', '-T0'], 'compressing with zstd', 'zstd'), compressor: 'zstd'}
  if (gzipCompressor(env) === 'pigz') {
    const threads = String(Math.max(1, availableParallelism()))
    return {stream: spawnFilter(input, pigzPath!, ['-c', '-n', `-${GZIP_LEVEL}`, '-b', String(PIGZ_BLOCK_KIB), '-p', threads], 'compressing with pigz', 'pigz'), compressor: 'pigz'}
  }
  const gzip = createGzip({level: GZIP_LEVEL, chunkSize: 256 * 1024})
  const out = new PassThrough({highWaterMark: 1024 * 1024})
  input.on('error', err => out.destroy(err))
  gzip.on('error', err => out.destroy(new StorageError(`compressing with gzip: ${err.message}`, {cause: err})))
  out.on('close', () => {
    if (!gzip.writableFinished) {
      gzip.destroy()
      input.destroy()
    }
  })
  input.pipe(gzip).pipe(out)
  return {stream: out, compressor: 'zlib'}
}

/**
 * The first `n` bytes of `input` (fewer if it is shorter) and a stream that
 * still yields all of it, so the compression of a pipe such as stdin can be
 * sniffed before it is consumed.
 */
export function peekStream(input: Readable, n: number): Promise<{head: Buffer; stream: Readable}> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const cleanup = (): void => {
      input.off('readable', onReadable)
      input.off('end', onEnd)
      input.off('error', onError)
    }
    const finish = (ended: boolean): void => {
      cleanup()
      const all = Buffer.concat(chunks, length)
      const head = all.subarray(0, n)
      if (ended) {
        resolve({head, stream: Readable.from(length > 0 ? [all] : [], {objectMode: false})})
        return
      }
      if (length > 0) input.unshift(all)
      resolve({head, stream: input})
    }
    const onReadable = (): void => {
      let chunk: Buffer | string | null
      while (length < n && (chunk = input.read()) !== null) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        chunks.push(buf)
        length += buf.length
      }
      if (length >= n) finish(false)
    }
    const onEnd = (): void => finish(true)
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    input.on('readable', onReadable)
    input.on('end', onEnd)
    input.on('error', onError)
  })
}
