/**
 * Applying an OCI layer tar to a directory: the security-critical half of
 * storage. Rules, after the OCI image spec (layer.md) and what Docker and
 * containers/storage do:
 *
 * - Nothing is written outside the target: names are normalised, a leading
 *   `/` makes them relative, `..` escapes are refused, and no symlink is ever
 *   followed while walking an entry's parents (each is lstat-ed once and
 *   remembered), so a layer cannot plant `a -> /etc` and then write `a/passwd`.
 * - An entry replaces whatever its path holds, except that a directory over a
 *   directory only takes the new metadata.
 * - Whiteouts apply to lower layers only: in 'overlay' mode they become char
 *   0:0 nodes and the opaque xattr, in 'delete' mode they delete.
 * - Ownership, then the full mode (chown clears setuid), then mtime; for
 *   directories all of it at the very end, deepest first, so a read-only
 *   directory does not lock out its own children and child writes do not
 *   disturb its mtime.
 *
 * Entries are handled strictly in order with synchronous syscalls: each costs
 * microseconds, less than a trip through libuv's thread pool, while the next
 * input chunk is still read in the background. What Node cannot do (mknod,
 * mkfifo, xattrs) is collected and done by a few batched helper processes.
 */
import {
  chmodSync,
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {posix, resolve as resolvePath} from 'node:path'
import type {Readable} from 'node:stream'
import type {ExtractEvents, Header as TarHeader} from 'tar-stream'
import {StorageError, TspodError, isErrno} from '../errors/index.js'
import {
  OPAQUE_MARKER,
  WHITEOUT_META_PREFIX,
  WHITEOUT_PREFIX,
  isCarriedXattr,
  lastLine,
  missingToolError,
  runBatched,
  setXattrs,
  type ExtractOptions,
  type ExtractReport,
  type XattrSetting,
} from './layer-tar.js'

interface EntryMeta {
  mode: number
  uid: number
  gid: number
  /** Seconds since the epoch, fractional when a PAX header says so. */
  mtime: number
}

type NodeKind = 'fifo' | 'char' | 'block' | 'whiteout'

interface PendingNode {
  kind: NodeKind
  name: string
  major: number
  minor: number
  meta?: EntryMeta
}

/** tar-stream's header, with the PAX records it decoded typed as what they are. */
type Header = Omit<TarHeader, 'pax'> & {pax?: Record<string, string> | null}

/** The body of one tar entry as tar-stream hands it over. */
type EntryBody = ExtractEvents['entry'][1]

const CREATE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW
const MAX_ID = 0xfffffffe
const SUBID_HINT =
  'Give your user at least 65536 subordinate ids in /etc/subuid and /etc/subgid, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 <user>'

export async function extractLayerTar(input: Readable, targetDir: string, options: ExtractOptions): Promise<ExtractReport> {
  const {extract: createExtract} = await import('tar-stream')
  const root = resolvePath(targetDir)
  mkdirSync(root, {recursive: true})
  const applier = new LayerApplier(root, options)
  const extract = createExtract()
  const takeRawPax = captureRawPax(extract)

  return new Promise<ExtractReport>((resolve, reject) => {
    let failed = false
    const fail = (err: unknown): void => {
      if (failed) return
      failed = true
      input.unpipe(extract)
      input.destroy()
      extract.destroy()
      reject(asStorageError(err))
    }
    // tar-stream can finish a tar that lacks its end-of-archive blocks while the last entry is
    // still being applied: the wrap-up must wait for it.
    let current = Promise.resolve()
    extract.on('entry', (header, body, next) => {
      const rawPax = takeRawPax()
      current = applier.apply(header as Header, body, rawPax).then(
        () => next(),
        (err: unknown) => {
          body.destroy()
          fail(err)
        },
      )
    })
    extract.on('finish', () => {
      current
        .then(() => {
          if (!failed) return applier.finish().then(() => resolve(applier.report))
        })
        .catch(fail)
    })
    extract.on('error', fail)
    input.on('error', fail)
    input.pipe(extract)
  })
}

function asStorageError(err: unknown): TspodError {
  if (err instanceof TspodError) return err
  const msg = err instanceof Error ? err.message : String(err)
  return new StorageError(`reading layer tar: ${msg}`, {cause: err})
}

/**
 * tar-stream decodes PAX records as UTF-8 text, which mangles binary xattr
 * values such as security.capability. Keep the raw bytes of each entry's PAX
 * header by observing the parser's decode step; where that hook is absent
 * the decoded text is the fallback.
 */
function captureRawPax(extract: object): () => Buffer | null {
  const parser = extract as {_decodeLongHeader?: (buf: Buffer) => void; _header?: {type?: string} | null}
  const decode = parser._decodeLongHeader
  let raw: Buffer | null = null
  if (typeof decode === 'function') {
    parser._decodeLongHeader = function (this: typeof parser, buf: Buffer): void {
      if (this._header?.type === 'pax-header') raw = Buffer.from(buf)
      decode.call(this, buf)
    }
  }
  return () => {
    const taken = raw
    raw = null
    return taken
  }
}

function parsePaxXattrs(raw: Buffer): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>()
  let offset = 0
  while (offset < raw.length) {
    const space = raw.indexOf(0x20, offset)
    if (space === -1) break
    const length = Number.parseInt(raw.toString('latin1', offset, space), 10)
    if (!(length > 0) || offset + length > raw.length) break
    const record = raw.subarray(space + 1, offset + length - 1)
    const eq = record.indexOf(0x3d)
    if (eq !== -1) {
      const key = record.toString('utf8', 0, eq)
      if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(record.subarray(eq + 1)))
    }
    offset += length
  }
  return xattrs
}

/** The path of a tar entry relative to the target ('' for the root), or null if it escapes. */
export function normalizeEntryPath(name: string): string | null {
  let path = posix.normalize(name)
  while (path.startsWith('/')) path = path.slice(1)
  while (path.endsWith('/')) path = path.slice(0, -1)
  if (path === '.' || path === '') return ''
  if (path === '..' || path.startsWith('../')) return null
  return path
}

function entryError(name: string, cause: string, hint?: string): StorageError {
  return new StorageError(`extracting layer entry "${name}": ${cause}`, {hint})
}

function fsError(name: string, err: unknown): TspodError {
  if (err instanceof TspodError) return err
  const msg = err instanceof Error ? err.message : String(err)
  return new StorageError(`extracting layer entry "${name}": ${msg}`, {cause: err})
}

function depth(rel: string): number {
  if (rel === '') return -1
  let n = 0
  for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) n++
  return n
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/')
  return slash === -1 ? '' : rel.slice(0, slash)
}

function parseId(value: string | undefined, fallback: number | undefined, what: string, name: string): number {
  const id = value === undefined ? (fallback ?? 0) : Number(value)
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw entryError(name, `invalid ${what} ${value ?? fallback}`)
  return id
}

function entryMeta(header: Header): EntryMeta {
  const pax = header.pax ?? undefined
  const uid = parseId(pax?.uid, header.uid, 'uid', header.name)
  const gid = parseId(pax?.gid, header.gid, 'gid', header.name)
  let mtime = header.mtime ? header.mtime.getTime() / 1000 : 0
  if (pax?.mtime !== undefined) mtime = Number(pax.mtime)
  if (!Number.isFinite(mtime)) mtime = 0
  return {mode: (header.mode ?? 0) & 0o7777, uid, gid, mtime}
}

function drain(body: EntryBody, size: number | undefined): Promise<void> {
  if (!size) return Promise.resolve()
  return new Promise((resolve, reject) => {
    body.on('end', resolve)
    body.on('error', reject)
    body.resume()
  })
}

class LayerApplier {
  readonly report: ExtractReport = {size: 0, entries: 0, skippedDevices: [], whiteouts: 0}
  private readonly mode: 'overlay' | 'delete'
  private readonly opaqueXattr: string
  /** Relative paths known to be real directories, not symlinks; '' is the target itself. */
  private readonly verifiedDirs = new Set<string>([''])
  /** Every path this layer created: whiteouts never hide them. */
  private readonly written = new Set<string>()
  private readonly dirFixups = new Map<string, {name: string; meta: EntryMeta}>()
  private readonly pendingNodes = new Map<string, PendingNode>()
  private readonly pendingXattrs = new Map<string, XattrSetting[]>()
  private readonly opaqueDirs = new Set<string>()

  constructor(
    private readonly root: string,
    private readonly options: ExtractOptions,
  ) {
    this.mode = options.whiteoutMode ?? 'overlay'
    this.opaqueXattr = `${options.overlayXattrNamespace ?? (options.rootless ? 'user' : 'trusted')}.overlay.opaque`
  }

  async apply(header: Header, body: EntryBody, rawPax: Buffer | null): Promise<void> {
    const name = header.name
    const rel = normalizeEntryPath(name)
    if (rel === null) throw entryError(name, 'path escapes the target directory')
    if (rel === '' && header.type !== 'directory') throw entryError(name, 'the root of the layer must be a directory')
    const base = rel.slice(rel.lastIndexOf('/') + 1)
    try {
      if (rel !== '' && base.startsWith(WHITEOUT_PREFIX)) {
        await drain(body, header.size)
        this.applyWhiteout(name, rel, base)
        return
      }
      const meta = entryMeta(header)
      switch (header.type) {
        case 'file':
        case 'contiguous-file':
          await this.writeFile(name, rel, meta, header.size ?? 0, body)
          this.recordXattrs(rel, header, rawPax, true)
          return
        case 'directory':
          await drain(body, header.size)
          this.makeDirectory(name, rel, meta)
          this.recordXattrs(rel, header, rawPax, false)
          return
        case 'symlink':
          await drain(body, header.size)
          this.makeSymlink(name, rel, meta, header.linkname ?? '')
          return
        case 'link':
          await drain(body, header.size)
          await this.makeHardLink(name, rel, header.linkname ?? '')
          return
        case 'character-device':
        case 'block-device':
          await drain(body, header.size)
          if (this.options.rootless) {
            this.report.skippedDevices.push(rel)
            return
          }
          this.deferNode(name, rel, header.type === 'character-device' ? 'char' : 'block', meta, header)
          return
        case 'fifo':
          await drain(body, header.size)
          this.deferNode(name, rel, 'fifo', meta, header)
          return
        default:
          throw entryError(name, `unsupported tar entry type ${header.type ?? 'unknown'}`)
      }
    } catch (err) {
      throw fsError(name, err)
    }
  }

  async finish(): Promise<void> {
    await this.flushNodes()
    await this.applyOpaqueXattrs()
    await this.applyCarriedXattrs()
    const dirs = [...this.dirFixups].sort((a, b) => depth(b[0]) - depth(a[0]))
    for (const [rel, {name, meta}] of dirs) {
      const abs = this.abs(rel)
      try {
        this.chown(name, () => lchownSync(abs, meta.uid, meta.gid), meta)
        chmodSync(abs, meta.mode)
        lutimesSync(abs, meta.mtime, meta.mtime)
      } catch (err) {
        throw fsError(name, err)
      }
    }
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`
  }

  private writeFile(name: string, rel: string, meta: EntryMeta, size: number, body: EntryBody): Promise<void> {
    this.prepare(name, rel)
    const abs = this.abs(rel)
    const fd = this.create(rel, abs, () => openSync(abs, CREATE_FLAGS, 0o600))
    const complete = (): void => {
      this.chown(name, () => fchownSync(fd, meta.uid, meta.gid), meta)
      fchmodSync(fd, meta.mode)
      futimesSync(fd, meta.mtime, meta.mtime)
      closeSync(fd)
      this.written.add(rel)
      this.report.entries++
      this.report.size += size
    }
    if (size === 0) {
      try {
        complete()
      } catch (err) {
        closeQuietly(fd)
        throw err
      }
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      let done = false
      const abort = (err: unknown): void => {
        if (done) return
        done = true
        closeQuietly(fd)
        body.destroy()
        reject(err)
      }
      body.on('data', (data: unknown) => {
        if (done) return
        const chunk = data as Buffer
        try {
          for (let offset = 0; offset < chunk.length; ) offset += writeSync(fd, chunk, offset, chunk.length - offset)
        } catch (err) {
          abort(err)
        }
      })
      body.on('end', () => {
        if (done) return
        try {
          complete()
          done = true
          resolve()
        } catch (err) {
          abort(err)
        }
      })
      body.on('error', abort)
    })
  }

  private makeDirectory(name: string, rel: string, meta: EntryMeta): void {
    if (rel !== '') {
      this.prepare(name, rel)
      const abs = this.abs(rel)
      try {
        mkdirSync(abs, 0o700)
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err
        if (!lstatSync(abs).isDirectory()) {
          this.remove(rel, abs)
          mkdirSync(abs, 0o700)
        }
      }
      this.verifiedDirs.add(rel)
    }
    this.dirFixups.set(rel, {name, meta})
    this.written.add(rel)
    this.report.entries++
  }

  private makeSymlink(name: string, rel: string, meta: EntryMeta, target: string): void {
    if (target === '') throw entryError(name, 'symbolic link without a target')
    this.prepare(name, rel)
    const abs = this.abs(rel)
    this.create(rel, abs, () => symlinkSync(target, abs))
    this.chown(name, () => lchownSync(abs, meta.uid, meta.gid), meta)
    lutimesSync(abs, meta.mtime, meta.mtime)
    this.written.add(rel)
    this.report.entries++
  }

  private async makeHardLink(name: string, rel: string, linkname: string): Promise<void> {
    const targetRel = linkname === '' ? '' : normalizeEntryPath(linkname)
    if (targetRel === null) throw entryError(name, `hard link target "${linkname}" escapes the target directory`)
    if (targetRel === '') throw entryError(name, 'hard link to the root of the layer')
    if (targetRel === rel) throw entryError(name, 'hard link to itself')
    if (!this.verifyParents(name, targetRel)) throw entryError(name, `hard link target "${linkname}" does not exist`)
    const pending = this.pendingNodes.get(targetRel)
    if (pending?.kind === 'whiteout') throw entryError(name, `hard link target "${linkname}" does not exist`)
    if (pending !== undefined) await this.flushNodes()
    const targetAbs = this.abs(targetRel)
    let target
    try {
      target = lstatSync(targetAbs)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw entryError(name, `hard link target "${linkname}" does not exist`)
      throw err
    }
    if (target.isDirectory()) throw entryError(name, `hard link target "${linkname}" is a directory`)
    this.prepare(name, rel)
    const abs = this.abs(rel)
    // link(2) does not follow a symlink target: linking to one links the symlink itself.
    this.create(rel, abs, () => linkSync(targetAbs, abs))
    this.written.add(rel)
    this.report.entries++
  }

  private deferNode(name: string, rel: string, kind: NodeKind, meta: EntryMeta, header: Header): void {
    this.prepare(name, rel)
    this.clear(rel)
    this.pendingNodes.set(rel, {kind, name, major: header.devmajor ?? 0, minor: header.devminor ?? 0, meta})
    this.written.add(rel)
    this.report.entries++
  }

  private applyWhiteout(name: string, rel: string, base: string): void {
    const dir = parentOf(rel)
    if (base === OPAQUE_MARKER) {
      this.report.whiteouts++
      if (this.mode === 'overlay') {
        this.ensureParents(name, rel)
        this.opaqueDirs.add(dir)
      } else if (this.verifyParents(name, rel)) {
        this.emptyLowerContents(dir)
      }
      return
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return
    const hidden = base.slice(WHITEOUT_PREFIX.length)
    if (hidden === '' || hidden === '.' || hidden === '..') throw entryError(name, 'invalid whiteout name')
    this.report.whiteouts++
    const target = dir === '' ? hidden : `${dir}/${hidden}`
    if (this.written.has(target)) return
    if (this.mode === 'overlay') {
      this.ensureParents(name, rel)
      this.clear(target)
      this.pendingNodes.set(target, {kind: 'whiteout', name, major: 0, minor: 0})
    } else if (this.verifyParents(name, rel)) {
      this.clear(target)
    }
  }

  /** Delete what earlier layers left in `dir`, keeping what this layer wrote (and their insides from this layer). */
  private emptyLowerContents(dir: string): void {
    for (const dirent of readdirSync(this.abs(dir), {withFileTypes: true})) {
      const child = dir === '' ? dirent.name : `${dir}/${dirent.name}`
      if (this.written.has(child)) {
        if (dirent.isDirectory()) this.emptyLowerContents(child)
        continue
      }
      rmSync(this.abs(child), {recursive: true, force: true})
      this.forget(child, true)
    }
  }

  private recordXattrs(rel: string, header: Header, rawPax: Buffer | null, isFile: boolean): void {
    let xattrs: Map<string, Buffer>
    if (rawPax !== null) {
      xattrs = parsePaxXattrs(rawPax)
    } else {
      xattrs = new Map()
      for (const [key, value] of Object.entries(header.pax ?? {})) {
        if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value))
      }
    }
    const settings: XattrSetting[] = []
    for (const [xattr, value] of xattrs) {
      if (!isCarriedXattr(xattr) || !/^[\x21-\x3c\x3e-\x7e]+$/.test(xattr)) continue
      if (xattr === 'security.capability' && !isFile) continue
      settings.push({path: this.abs(rel), name: xattr, value})
    }
    if (settings.length > 0) this.pendingXattrs.set(rel, settings)
  }

  /** Make the parents of `rel` real directories (creating missing ones) and drop anything pending at `rel`. */
  private prepare(name: string, rel: string): void {
    this.ensureParents(name, rel)
    this.pendingNodes.delete(rel)
  }

  private ensureParents(name: string, rel: string): void {
    if (this.verifiedDirs.has(parentOf(rel))) return
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) {
      const dir = rel.slice(0, i)
      if (this.verifiedDirs.has(dir)) continue
      if (!this.checkDirectory(name, dir, true)) {
        const abs = this.abs(dir)
        mkdirSync(abs, 0o755)
        this.chown(name, () => lchownSync(abs, 0, 0), {uid: 0, gid: 0})
        chmodSync(abs, 0o755)
      }
      this.verifiedDirs.add(dir)
    }
  }

  /** Like ensureParents, but creates nothing: false if a parent is missing. */
  private verifyParents(name: string, rel: string): boolean {
    if (this.verifiedDirs.has(parentOf(rel))) return true
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) {
      const dir = rel.slice(0, i)
      if (this.verifiedDirs.has(dir)) continue
      if (!this.checkDirectory(name, dir, false)) return false
      this.verifiedDirs.add(dir)
    }
    return true
  }

  /**
   * True if `dir` is a real directory, false if absent; throws for anything
   * else, symlinks above all. A pending whiteout counts as absent, and gives
   * way when the directory is about to be created: deleted below, recreated here.
   */
  private checkDirectory(name: string, dir: string, creating: boolean): boolean {
    const pending = this.pendingNodes.get(dir)
    if (pending?.kind === 'whiteout') {
      if (creating) this.pendingNodes.delete(dir)
      return false
    }
    if (pending !== undefined) throw entryError(name, `parent "${dir}" is not a directory`)
    let stats
    try {
      stats = lstatSync(this.abs(dir))
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false
      throw err
    }
    if (stats.isSymbolicLink()) throw entryError(name, `parent "${dir}" is a symbolic link; refusing to write through it`)
    if (!stats.isDirectory()) throw entryError(name, `parent "${dir}" is not a directory`)
    return true
  }

  /** Run `make`; if the path is taken, remove what is there and run it again. */
  private create<T>(rel: string, abs: string, make: () => T): T {
    try {
      return make()
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err
    }
    this.remove(rel, abs)
    return make()
  }

  /** Remove whatever `rel` holds, if anything. */
  private clear(rel: string): void {
    const abs = this.abs(rel)
    try {
      lstatSync(abs)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return
      throw err
    }
    this.remove(rel, abs)
  }

  private remove(rel: string, abs: string): void {
    if (lstatSync(abs).isDirectory()) {
      rmSync(abs, {recursive: true, force: true})
      this.forget(rel, true)
    } else {
      unlinkSync(abs)
      this.forget(rel, false)
    }
  }

  /** Drop everything remembered about `rel` (and below it) after it was removed from disk. */
  private forget(rel: string, subtree: boolean): void {
    const stores: Array<Set<string> | Map<string, unknown>> = [this.verifiedDirs, this.dirFixups, this.pendingNodes, this.pendingXattrs, this.opaqueDirs]
    for (const store of stores) store.delete(rel)
    if (!subtree) return
    const prefix = `${rel}/`
    for (const store of stores) {
      for (const key of store.keys()) if (key.startsWith(prefix)) store.delete(key)
    }
  }

  private chown(name: string, change: () => void, ids: {uid: number; gid: number}): void {
    try {
      change()
    } catch (err) {
      if (isErrno(err, 'EINVAL')) {
        throw entryError(name, `uid ${ids.uid} or gid ${ids.gid} is not mapped in the user namespace`, SUBID_HINT)
      }
      throw err
    }
  }

  /** Create the collected FIFOs, device nodes and whiteouts with a few helper processes. */
  private async flushNodes(): Promise<void> {
    if (this.pendingNodes.size === 0) return
    const nodes = [...this.pendingNodes]
    this.pendingNodes.clear()
    const fifos = nodes.filter(([, node]) => node.kind === 'fifo').map(([rel]) => [this.abs(rel)])
    await runBatched('mkfifo', ['-m', '600', '--'], fifos, 'creating FIFOs')
    const special = nodes
      .filter(([, node]) => node.kind !== 'fifo')
      .map(([rel, node]) => [this.abs(rel), node.kind === 'block' ? 'b' : 'c', String(node.major), String(node.minor)])
    const loop = 'while [ $# -gt 0 ]; do mknod -m 600 -- "$1" "$2" "$3" "$4" || exit 1; shift 4; done'
    await runBatched('sh', ['-c', loop, 'sh'], special, this.options.rootless ? 'creating whiteouts' : 'creating device nodes and whiteouts')
    for (const [rel, node] of nodes) {
      if (node.meta === undefined) continue
      const {meta} = node
      const abs = this.abs(rel)
      try {
        this.chown(node.name, () => lchownSync(abs, meta.uid, meta.gid), meta)
        chmodSync(abs, meta.mode)
        lutimesSync(abs, meta.mtime, meta.mtime)
      } catch (err) {
        throw fsError(node.name, err)
      }
    }
  }

  private async applyOpaqueXattrs(): Promise<void> {
    if (this.opaqueDirs.size === 0) return
    const what = 'marking opaque directories'
    const settings = [...this.opaqueDirs].map(rel => ({path: this.abs(rel), name: this.opaqueXattr, value: Buffer.from('y')}))
    const failure = await setXattrs(settings)
    if (failure === null) throw missingToolError('setfattr', what)
    if (failure !== '') throw new StorageError(`${what}: ${lastLine(failure)}`)
  }

  private async applyCarriedXattrs(): Promise<void> {
    if (this.pendingXattrs.size === 0) return
    const failure = await setXattrs([...this.pendingXattrs.values()].flat())
    const warn = this.options.onWarning ?? (() => {})
    if (failure === null) warn(`extended attributes of ${this.pendingXattrs.size} files not restored: setfattr not found (apt-get install attr)`)
    else if (failure !== '') warn(`some extended attributes could not be restored: ${lastLine(failure)}`)
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // The write error that got us here is the one worth reporting.
  }
}
