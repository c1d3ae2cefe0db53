/**
 * `tspod cp`: files between a container and the host (or another container,
 * or a tar stream on stdin/stdout), with Podman's rules for what lands where.
 * It runs inside tspod's user namespace (the command re-executes there), as
 * the namespace's root, so it can read and write files of every container
 * uid; on the host that root is the user, so what is copied out belongs to
 * the user.
 *
 * Every copy is a tar stream from the source into the layer extractor
 * (storage/tar-extract.ts), which never writes through a symlink, refuses
 * `..` and absolute escapes and hard links outside its target, and skips
 * device nodes: a hostile container or tarball cannot make tspod write
 * outside the destination. Container paths are resolved the way the
 * container itself would resolve them, with symlinks followed inside its
 * root (resolveInRoot), so `/etc/x -> /etc/passwd` means the container's
 * passwd, never the host's.
 *
 * Not handled: paths under a volume or bind mount of the container resolve
 * to the container's own root file system, not to the mount's source.
 */
import {createReadStream, lstatSync, readlinkSync, realpathSync, statSync, type Stats} from 'node:fs'
import {basename, dirname, posix, resolve as resolvePath} from 'node:path'
import {PassThrough, type Readable} from 'node:stream'
import type {Header as TarHeader} from 'tar-stream'
import {InvalidArgumentError, StorageError, TspodError, isErrno} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {resolveUser} from '../runtime/user.js'
import {WHITEOUT_PREFIX} from '../storage/layer-tar.js'
import {lookupContainer, readRecord, type ContainerRecord} from './container-store.js'
import {readContainerFile} from './exec.js'
import {withContainerRootfs} from './mount.js'

/** More symlinks than this on one path is a loop (Linux's own limit is 40; Go's securejoin allows 255). */
const MAX_SYMLINKS = 255

function splitPath(path: string): string[] {
  return path.split('/').filter(part => part !== '' && part !== '.')
}

/**
 * The host path of `path` inside the container root `root`, resolved as the
 * container would: `..` stops at the root, and every symlink is followed
 * relative to the root (absolute targets start over at the root), the last
 * component too unless followFinal is false. Missing components are taken
 * as they are, so the result may not exist; it is always inside root.
 */
export function resolveInRoot(root: string, path: string, options: {followFinal?: boolean} = {}): string {
  const followFinal = options.followFinal ?? true
  const base = resolvePath(root)
  let pending = splitPath(path)
  let resolved: string[] = []
  let links = 0
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === '..') {
      resolved.pop()
      continue
    }
    const candidate = [...resolved, part]
    const abs = `${base}/${candidate.join('/')}`
    let isLink = false
    try {
      isLink = lstatSync(abs).isSymbolicLink()
    } catch {
      // Missing (or a parent is not a directory): the name stays as it is.
    }
    if (isLink && (pending.length > 0 || followFinal)) {
      if (++links > MAX_SYMLINKS) throw new InvalidArgumentError(`resolving ${path}: too many levels of symbolic links`)
      const target = readlinkSync(abs)
      if (target.startsWith('/')) resolved = []
      pending = [...splitPath(target), ...pending]
      continue
    }
    resolved = candidate
  }
  return resolved.length === 0 ? base : `${base}/${resolved.join('/')}`
}

export type CopyLocation = {kind: 'stream'} | {kind: 'host'; path: string} | {kind: 'container'; container: string; path: string}

/**
 * `-`, `CONTAINER:PATH` or a host path. A path that starts with `/` or `.`
 * is the host's even when it holds a colon, as with Podman.
 */
export function parseCopyLocation(arg: string): CopyLocation {
  if (arg === '-') return {kind: 'stream'}
  const colon = arg.indexOf(':')
  if (arg.startsWith('/') || arg.startsWith('.') || colon <= 0) return {kind: 'host', path: arg}
  return {kind: 'container', container: arg.slice(0, colon), path: arg.slice(colon + 1)}
}

/** Whether a copy source means "the contents of this directory" (`dir/.`). */
function meansContents(path: string): boolean {
  return path === '.' || path.endsWith('/.')
}

export interface TarEntryHeader {
  name: string
  type?: TarHeader['type']
  linkname?: string | null
  mode?: number
  uid?: number
  gid?: number
  size?: number
  mtime?: Date
  devmajor?: number
  devminor?: number
  pax?: Record<string, string> | null
}

/**
 * Re-writes a tar stream entry by entry: `edit` may change a header (name,
 * ids) or drop the entry (null), and may throw to abort. `first` entries
 * (bodiless: directories) are written before the input's.
 */
export function rewriteTar(input: Readable, edit: (header: TarEntryHeader) => TarEntryHeader | null, first: TarEntryHeader[] = []): Readable {
  const out = new PassThrough({highWaterMark: 1 << 20})
  void import('tar-stream').then(({extract, pack}) => {
    const packer = pack()
    const parser = extract()
    const fail = (err: unknown) => {
      input.destroy()
      parser.destroy()
      packer.destroy()
      out.destroy(err instanceof Error ? err : new Error(String(err)))
    }
    packer.on('error', fail)
    parser.on('error', fail)
    input.on('error', fail)
    out.on('close', () => {
      input.destroy()
      parser.destroy()
      packer.destroy()
    })
    packer.pipe(out)
    for (const header of first) packer.entry(header as TarHeader)
    parser.on('entry', (original, body, next) => {
      body.on('error', fail)
      let header: TarEntryHeader | null
      try {
        header = edit({...original, pax: original.pax ? {...original.pax} : null} as TarEntryHeader)
      } catch (err) {
        fail(err)
        return
      }
      if (header === null) {
        body.on('end', next)
        body.resume()
        return
      }
      if (header.pax) {
        // The name and link target live in the header; stale PAX copies would override them, as would old ids.
        for (const key of ['path', 'linkpath', 'size']) delete header.pax[key]
        if (header.uid !== original.uid) delete header.pax.uid
        if (header.gid !== original.gid) delete header.pax.gid
        if (Object.keys(header.pax).length === 0) header.pax = null
      }
      const sink = packer.entry(header as TarHeader, err => (err ? fail(err) : next()))
      sink.on('error', fail)
      body.pipe(sink as never)
    })
    parser.on('finish', () => packer.finalize())
    input.pipe(parser as never)
  }, err => out.destroy(err as Error))
  return out
}

interface Ids {
  uid: number
  gid: number
}

function headerFor(name: string, abs: string, stats: Stats): TarEntryHeader {
  const header: TarEntryHeader = {
    name,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtime: new Date(Math.floor(stats.mtimeMs / 1000) * 1000),
  }
  if (stats.isDirectory()) header.type = 'directory'
  else if (stats.isSymbolicLink()) Object.assign(header, {type: 'symlink', linkname: readlinkSync(abs)})
  else if (stats.isFIFO()) header.type = 'fifo'
  else if (stats.isCharacterDevice() || stats.isBlockDevice()) header.type = stats.isCharacterDevice() ? 'character-device' : 'block-device'
  else Object.assign(header, {type: 'file', size: stats.size})
  return header
}

/**
 * A tar of one file or directory (symlinks inside a directory stay links)
 * whose top-level entry is `name`; a directory with the name '' yields its
 * contents only.
 */
export async function sourceTar(abs: string, name: string, onWarning?: (message: string) => void): Promise<Readable> {
  const stats = lstatSync(abs)
  if (!stats.isDirectory()) {
    if (name === '') throw new InvalidArgumentError(`${abs} is not a directory`)
    const header = headerFor(name, abs, stats)
    const {pack} = await import('tar-stream')
    const packer = pack()
    const out = new PassThrough({highWaterMark: 1 << 20})
    const file = header.type === 'file' ? createReadStream(abs) : undefined
    const fail = (err: Error) => {
      file?.destroy()
      packer.destroy()
      out.destroy(err)
    }
    packer.on('error', fail)
    // A reader that gives up (a failed extraction) stops the packing.
    out.on('close', () => {
      file?.destroy()
      packer.destroy()
    })
    packer.pipe(out)
    const sink = packer.entry(header as TarHeader, err => (err ? fail(err) : packer.finalize()))
    sink.on('error', fail)
    if (file) file.on('error', fail).pipe(sink as never)
    return out
  }
  const {packDirectory} = await import('../storage/layer-tar.js')
  const inner = packDirectory(abs, {onWarning})
  if (name === '') return inner
  const prefix = `${name}/`
  return rewriteTar(inner, header => {
    header.name = prefix + header.name
    if (header.type === 'link' && header.linkname) header.linkname = prefix + header.linkname
    return header
  }, [headerFor(name, abs, stats)])
}

export interface CopyDestination {
  /** The existing directory to extract into. */
  dir: string
  /** How the destination is named in messages. */
  display: (rel: string) => string
}

export interface ExtractIntoOptions {
  overwrite: boolean
  /** Replace every entry's ids (files copied in become the container user's, or out the user's own). */
  ids?: Ids
  rootless: boolean
  onWarning?: (message: string) => void
}

/** Apply a tar to an existing directory, refusing type changes unless overwrite, never writing outside it. */
export async function extractInto(tar: Readable, dest: CopyDestination, options: ExtractIntoOptions): Promise<void> {
  const warn = options.onWarning ?? (() => {})
  const checked = rewriteTar(tar, header => {
    const rel = posix.normalize(header.name).replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '')
    if (rel === '' || rel === '.') return null // the target directory keeps its own metadata
    if (posix.basename(rel).startsWith(WHITEOUT_PREFIX)) {
      warn(`${dest.display(rel)} not copied: names starting with ${WHITEOUT_PREFIX} mark deletions in image layers`)
      return null
    }
    if (!options.overwrite) checkTypeChange(dest, rel, header.type === 'directory')
    if (options.ids) {
      header.uid = options.ids.uid
      header.gid = options.ids.gid
    }
    return header
  })
  const {extractLayer} = await import('../storage/layer-tar.js')
  await extractLayer(checked, dest.dir, {rootless: options.rootless, whiteoutMode: 'delete', onWarning: warn})
}

function checkTypeChange(dest: CopyDestination, rel: string, incomingDir: boolean): void {
  let existing
  try {
    existing = lstatSync(`${dest.dir}/${rel}`)
  } catch {
    return
  }
  if (existing.isDirectory() && !incomingDir) {
    throw new TspodError(`cannot overwrite directory "${dest.display(rel)}" with non-directory`, {hint: 'Use --overwrite to replace it'})
  }
  if (!existing.isDirectory() && incomingDir) {
    throw new TspodError(`cannot overwrite non-directory "${dest.display(rel)}" with directory`, {hint: 'Use --overwrite to replace it'})
  }
}

export interface CopyOptions {
  /** Podman's --archive (default true): files copied into a container become its user's. */
  archive: boolean
  overwrite: boolean
  stdin?: Readable
  stdout?: NodeJS.WritableStream
  onWarning?: (message: string) => void
}

/** One side of a copy once its root is known: where a path is, and how to name it in messages. */
interface Side {
  /** Resolve a path of this side to an absolute path on the host (final symlink followed or not). */
  resolve: (path: string, followFinal: boolean) => string
  /** `"PATH" could not be found on …` */
  where: string
  record?: ContainerRecord
  /** The absolute path in messages. */
  display: (abs: string) => string
  /**
   * Right before use: the path must still lie inside the container root (a
   * running container may have swapped a directory for a symlink meanwhile).
   */
  confine: (abs: string) => void
}

function hostSide(): Side {
  return {
    resolve: path => resolvePath(path),
    where: 'the host',
    display: abs => abs,
    confine: () => {},
  }
}

function containerSide(root: string, record: ContainerRecord): Side {
  return {
    resolve: (path, followFinal) => resolveInRoot(root, path, {followFinal}),
    where: `container ${record.name}`,
    record,
    display: abs => (abs === root ? '/' : abs.slice(root.length)),
    confine: abs => {
      const real = realpathSync(abs)
      if (real !== root && !real.startsWith(`${root}/`)) {
        throw new TspodError(`${abs.slice(root.length)} in container ${record.name} changed while being copied: it now leads outside the container`)
      }
    },
  }
}

function notFound(path: string, side: Side): TspodError {
  return new TspodError(`"${path}" could not be found on ${side.where}: no such file or directory`)
}

function statOrNull(abs: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(abs)
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null
    throw err
  }
}

/** The container's primary user, whose ids files copied in get (Podman's --archive). */
function containerIds(engine: Engine, record: ContainerRecord): Ids {
  try {
    const user = resolveUser(record.user || undefined, path => readContainerFile(engine.store, record, path))
    return {uid: user.uid, gid: user.gid}
  } catch {
    return {uid: 0, gid: 0}
  }
}

/**
 * Where a source named `srcPath` (already found at `srcAbs`) lands under
 * `destPath`: the directory to extract into and the name to give it there.
 */
function planDestination(srcPath: string, srcIsDir: boolean, destPath: string, dest: Side): {dir: string; name: string} {
  const destAbs = dest.resolve(destPath, true)
  const destStat = statOrNull(destAbs)
  const srcName = basename(srcPath.replace(/\/+$/, ''))
  const contents = srcIsDir && meansContents(srcPath)
  if (destStat?.isDirectory()) return {dir: destAbs, name: contents || srcName === '' ? '' : srcName}
  if (destStat) {
    if (srcIsDir) throw new TspodError('destination must be a directory when copying a directory')
    return {dir: dirname(destAbs), name: basename(destAbs)}
  }
  if (destPath.endsWith('/')) throw notFound(destPath, dest)
  // A missing destination is created as what the source is: its parent must exist.
  const parentAbs = dirname(destAbs)
  if (!statOrNull(parentAbs)?.isDirectory()) throw notFound(posix.dirname(destPath), dest)
  return {dir: parentAbs, name: basename(destAbs)}
}

async function openSource(srcPath: string, src: Side, name: string, onWarning?: (m: string) => void): Promise<Readable> {
  const srcAbs = src.resolve(srcPath, true)
  if (!statOrNull(srcAbs)) throw notFound(srcPath, src)
  src.confine(srcAbs)
  return sourceTar(src.record ? srcAbs : realpathSync(srcAbs), name, onWarning)
}

function sourceIsDir(srcPath: string, src: Side): boolean {
  const stats = statOrNull(src.resolve(srcPath, true))
  if (!stats) throw notFound(srcPath, src)
  return stats.isDirectory()
}

async function withSide<T>(engine: Engine, location: CopyLocation, fn: (side: Side) => Promise<T>): Promise<T> {
  if (location.kind !== 'container') return fn(hostSide())
  const record = readRecord(engine.store, lookupContainer(engine.store, location.container).id)
  return withContainerRootfs(engine, record, root => fn(containerSide(realpathSync(root), record)))
}

/** `tspod cp SRC DEST`. */
export async function copyPaths(engine: Engine, srcArg: string, destArg: string, options: CopyOptions): Promise<void> {
  const source = parseCopyLocation(srcArg)
  const target = parseCopyLocation(destArg)
  if (source.kind === 'stream' && target.kind === 'stream') throw new InvalidArgumentError('invalid arguments -, -: one side must be a path')
  if (source.kind !== 'container' && target.kind !== 'container') {
    throw new InvalidArgumentError(`invalid arguments ${srcArg}, ${destArg}: one of them must name a container (CONTAINER:PATH)`)
  }
  const warn = options.onWarning
  const srcPath = source.kind === 'stream' ? '' : source.path
  const destPath = target.kind === 'stream' ? '' : target.path || '/'
  await withSide(engine, source, src => withSide(engine, target, async dest => {
    if (target.kind === 'stream') {
      const isDir = sourceIsDir(srcPath || '/', src)
      const name = isDir && meansContents(srcPath) ? '' : basename(srcPath.replace(/\/+$/, '')) || (isDir ? '' : basename(src.resolve(srcPath, true)))
      await pipeTo(await openSource(srcPath || '/', src, name, warn), options.stdout ?? process.stdout)
      return
    }
    // Files copied into a container become its user's (--archive); copied out, the user's own (root here).
    const ids = dest.record ? (options.archive ? containerIds(engine, dest.record) : undefined) : {uid: 0, gid: 0}
    const display = (dir: string) => (rel: string) => dest.display(`${dir}/${rel}`)
    if (source.kind === 'stream') {
      const dir = dest.resolve(destPath, true)
      if (!statOrNull(dir)?.isDirectory()) {
        if (!statOrNull(dir)) throw notFound(destPath, dest)
        throw new TspodError('destination must be a directory when copying from stdin')
      }
      dest.confine(dir)
      await extractInto(await decompressed(options.stdin ?? process.stdin), {dir, display: display(dir)}, {overwrite: options.overwrite, ids, rootless: engine.rootless, onWarning: warn})
      return
    }
    const isDir = sourceIsDir(srcPath || '/', src)
    const plan = planDestination(srcPath || '/', isDir, destPath, dest)
    const tar = await openSource(srcPath || '/', src, plan.name, warn)
    dest.confine(plan.dir)
    await extractInto(tar, {dir: plan.dir, display: display(plan.dir)}, {overwrite: options.overwrite, ids, rootless: engine.rootless, onWarning: warn})
  }))
}

/** A tar on stdin may come compressed, as Podman accepts it. */
async function decompressed(input: Readable): Promise<Readable> {
  const {peekStream, detectCompression, decompressStream, MAGIC_LENGTH} = await import('../storage/compression.js')
  const {head, stream} = await peekStream(input, MAGIC_LENGTH)
  const kind = detectCompression(head)
  return kind === 'none' ? stream : decompressStream(stream, kind)
}

/** Everything of the tar written to out (which stays open: it is this process's stdout). */
function pipeTo(tar: Readable, out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    tar.on('error', err => reject(err instanceof TspodError ? err : new StorageError(`writing the tar stream: ${err.message}`)))
    tar.on('end', () => out.write(Buffer.alloc(0), () => resolve()))
    tar.pipe(out as never, {end: false})
  })
}
