/**
 * Layer tarballs: the entry point for turning OCI layer tars into
 * directories (extractLayer) and directories into tars (packDirectory), and
 * the conventions both directions share: whiteout names, the overlay xattrs,
 * which xattrs a layer carries, and the batched helper commands.
 *
 * Node can neither mknod nor set or read xattrs, so those run as system
 * commands (mknod, mkfifo, setfattr, getfattr), many paths per process, never
 * one process per tar entry. The implementations live in tar-extract.ts and
 * tar-pack.ts and load only when called.
 */
import {spawn} from 'node:child_process'
import {PassThrough, type Readable} from 'node:stream'
import {StorageError, isErrno} from '../errors/index.js'

export type WhiteoutMode = 'overlay' | 'delete'

export interface ExtractOptions {
  /** Running in a user namespace: device nodes are skipped, the opaque xattr defaults to user.overlay.opaque. */
  rootless: boolean
  onWarning?: (msg: string) => void
  /**
   * 'overlay' (default) turns whiteouts into what kernel overlayfs reads: char 0:0 nodes and the
   * opaque xattr. 'delete' applies them to the directory itself, for drivers that extract every
   * layer of an image into one directory.
   */
  whiteoutMode?: WhiteoutMode
  /** Namespace of the overlay opaque xattr: 'user' for overlayfs mounted with userxattr. */
  overlayXattrNamespace?: 'user' | 'trusted'
}

export interface ExtractReport {
  /** Sum of the sizes of regular files written. */
  size: number
  /** Tar entries applied, whiteouts and skipped devices not counted. */
  entries: number
  /** Paths of device nodes left out because they cannot be created rootless. */
  skippedDevices: string[]
  whiteouts: number
}

export interface PackOptions {
  /** Clamp every mtime to at most this many seconds since the epoch (reproducible builds). */
  sourceDateEpoch?: number
  /** Give every entry this mtime (seconds since the epoch), whatever the file says: build --timestamp. */
  timestamp?: number
  /** Read xattrs (carried ones and overlay opaque markers) with getfattr; default true. */
  xattrs?: boolean
  onWarning?: (msg: string) => void
  /**
   * Rewrites each entry's header before it is written, or drops the entry
   * (null; a directory's contents are still walked): what rewriteTar would
   * do afterwards, without parsing and packing the tar a second time.
   */
  mapHeader?: (header: {name: string; type?: string; linkname?: string | null; mode?: number; uid?: number; gid?: number; size?: number; mtime?: Date; pax?: Record<string, string> | null}) => object | null
}

export const WHITEOUT_PREFIX = '.wh.'
export const OPAQUE_MARKER = '.wh..wh..opq'
/** aufs keeps its own bookkeeping under this prefix; it is never content. */
export const WHITEOUT_META_PREFIX = '.wh..wh.'
export const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'] as const

/** Extract the uncompressed OCI layer tar `input` into `targetDir`, never writing outside it. */
export async function extractLayer(input: Readable, targetDir: string, options: ExtractOptions): Promise<ExtractReport> {
  const {extractLayerTar} = await import('./tar-extract.js')
  return extractLayerTar(input, targetDir, options)
}

/** A deterministic tar of the tree under `dir` (the directory itself is not an entry). */
export function packDirectory(dir: string, options: PackOptions = {}): Readable {
  const out = new PassThrough({highWaterMark: 1 << 20})
  import('./tar-pack.js')
    .then(({writeDirectoryTar}) => writeDirectoryTar(dir, out, options))
    .catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))))
  return out
}

/** The xattrs a layer records and restores: user ones (not overlay's own) and file capabilities. */
export function isCarriedXattr(name: string): boolean {
  if (name === 'security.capability') return true
  return name.startsWith('user.') && !name.startsWith('user.overlay.')
}

/**
 * Escape a path for the dump format of getfattr/setfattr: space, backslash
 * and every byte outside printable ASCII become `\ooo`, which setfattr reads
 * back byte for byte.
 */
export function quoteDumpPath(path: string): string {
  let out = ''
  for (const byte of Buffer.from(path)) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`
  }
  return out
}

export function unquoteDumpPath(quoted: string): string {
  return unquoteDumpBytes(quoted).toString()
}

function unquoteDumpBytes(quoted: string): Buffer {
  const raw = Buffer.from(quoted)
  const bytes: number[] = []
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && isOctal(raw[i + 1]) && isOctal(raw[i + 2]) && isOctal(raw[i + 3])) {
      bytes.push(((raw[i + 1] - 0x30) << 6) | ((raw[i + 2] - 0x30) << 3) | (raw[i + 3] - 0x30))
      i += 3
    } else {
      bytes.push(raw[i])
    }
  }
  return Buffer.from(bytes)
}

function isOctal(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x37
}

export interface ToolResult {
  code: number
  stdout: string
  stderr: string
}

const TOOL_PACKAGES: Record<string, string> = {setfattr: 'attr', getfattr: 'attr', mknod: 'coreutils', mkfifo: 'coreutils', sh: 'dash'}

/** The missing-tool failure, with the package that provides it. */
export function missingToolError(command: string, what: string): StorageError {
  return new StorageError(`${what}: ${command} not found`, {hint: `apt-get install ${TOOL_PACKAGES[command] ?? command}`})
}

/**
 * Run a helper command to completion; null if it is not installed. The C
 * locale keeps getfattr's escaping and every message byte-stable.
 */
export function runTool(command: string, args: string[], stdin?: string): Promise<ToolResult | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {stdio: ['pipe', 'pipe', 'pipe'], env: {...process.env, LC_ALL: 'C'}})
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.stdin.on('error', () => {})
    child.on('error', err => {
      if (isErrno(err, 'ENOENT')) resolve(null)
      else reject(new StorageError(`running ${command}: ${err.message}`, {cause: err}))
    })
    child.on('close', code => {
      resolve({code: code ?? 1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString()})
    })
    child.stdin.end(stdin ?? '')
  })
}

/** The last line a failed tool printed, for a one-line error. */
export function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? ''
}

/** Keep each helper's argument list well below ARG_MAX. */
const BATCH_BYTES = 96 * 1024

/**
 * Run `command fixedArgs... group1... group2...` over as few processes as
 * argument limits allow; each group is the arguments of one item.
 */
export async function runBatched(command: string, fixedArgs: string[], groups: string[][], what: string): Promise<void> {
  let batch: string[] = []
  let bytes = 0
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    const args = [...fixedArgs, ...batch]
    batch = []
    bytes = 0
    const result = await runTool(command, args)
    if (result === null) throw missingToolError(command, what)
    if (result.code !== 0) throw new StorageError(`${what}: ${lastLine(result.stderr) || `${command} exited with status ${result.code}`}`)
  }
  for (const group of groups) {
    for (const arg of group) {
      batch.push(arg)
      bytes += Buffer.byteLength(arg) + 1
    }
    if (bytes >= BATCH_BYTES) await flush()
  }
  await flush()
}

export interface XattrSetting {
  path: string
  name: string
  value: Buffer
}

/**
 * Set many xattrs with one setfattr process, never following symlinks.
 * Returns null if setfattr is missing, else its stderr ('' when all succeeded).
 */
export async function setXattrs(settings: XattrSetting[]): Promise<string | null> {
  if (settings.length === 0) return ''
  let dump = ''
  for (const {path, name, value} of settings) {
    dump += `# file: ${quoteDumpPath(path)}\n${name}=0x${value.toString('hex')}\n\n`
  }
  const result = await runTool('setfattr', ['-h', '--restore=-'], dump)
  if (result === null) return null
  return result.code === 0 ? '' : result.stderr.trim() || `setfattr exited with status ${result.code}`
}

/**
 * Every xattr under `dir` (the tree walked without following symlinks), as
 * absolute path → name → value; null if getfattr is missing. Unreadable
 * files are reported through `onError` and left out.
 */
export async function readXattrs(dir: string, onError: (msg: string) => void): Promise<Map<string, Map<string, Buffer>> | null> {
  const result = await runTool('getfattr', ['--absolute-names', '-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', dir])
  if (result === null) return null
  if (result.code !== 0 && result.stderr.trim()) onError(lastLine(result.stderr))
  return parseXattrDump(result.stdout)
}

export function parseXattrDump(dump: string): Map<string, Map<string, Buffer>> {
  const all = new Map<string, Map<string, Buffer>>()
  let current: Map<string, Buffer> | undefined
  for (const line of dump.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map()
      all.set(unquoteDumpPath(line.slice('# file: '.length)), current)
      continue
    }
    if (current === undefined || line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    const name = eq === -1 ? line : line.slice(0, eq)
    const encoded = eq === -1 ? '' : line.slice(eq + 1)
    current.set(name, decodeDumpValue(encoded))
  }
  return all
}

function decodeDumpValue(encoded: string): Buffer {
  if (encoded.startsWith('0x')) return Buffer.from(encoded.slice(2), 'hex')
  if (encoded.startsWith('0s')) return Buffer.from(encoded.slice(2), 'base64')
  if (encoded.startsWith('"') && encoded.endsWith('"')) return unquoteDumpBytes(encoded.slice(1, -1))
  return Buffer.from(encoded)
}
