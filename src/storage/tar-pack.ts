/**
 * A directory tree as a deterministic layer tar: the same tree gives the same
 * bytes, so `commit`, `build` and `save` produce stable digests.
 *
 * - Walk order: depth first, each directory's children in byte order, with
 *   whiteouts first (layer.md asks for whiteouts before their siblings) and a
 *   directory's opaque marker right after the directory itself.
 * - Headers carry mode, uid and gid as on disk, no user or group names, and
 *   whole-second mtimes clamped to SOURCE_DATE_EPOCH when given. PAX records
 *   only where ustar cannot say it (long or non-ASCII names, large ids, xattrs).
 * - A second path to an inode already written becomes a hard-link entry.
 * - Overlay upper directories turn back into OCI form: char 0:0 nodes into
 *   `.wh.<name>` files, opaque directories into `.wh..wh..opq` entries.
 */
import {createReadStream, lstatSync, readFileSync, readdirSync, readlinkSync} from 'node:fs'
import {resolve as resolvePath} from 'node:path'
import type {Writable} from 'node:stream'
import type {Header as TarHeader, Pack} from 'tar-stream'
import {StorageError, TspodError} from '../errors/index.js'
import {OPAQUE_MARKER, OPAQUE_XATTRS, WHITEOUT_PREFIX, isCarriedXattr, readXattrs, type PackOptions} from './layer-tar.js'

type Stats = ReturnType<typeof statBig>

interface Child {
  /** The name on disk. */
  name: string
  /** The name in the tar: differs from `name` for whiteouts. */
  tarName: Buffer
  stats: Stats
  whiteout: boolean
}

type HeaderArgument = Partial<Omit<TarHeader, 'pax'>> & {name: string; pax?: Record<string, string>}

/** ustar's uid/gid fields hold six octal digits; tar-stream writes nonsense beyond. */
const MAX_USTAR_ID = 0o777777
/** Files up to this size are read whole: cheaper than a stream for the many small files of a rootfs. */
const SMALL_FILE = 1024 * 1024

function statBig(path: string) {
  return lstatSync(path, {bigint: true})
}

export async function writeDirectoryTar(dir: string, out: Writable, options: PackOptions): Promise<void> {
  const {pack: createPack} = await import('tar-stream')
  const root = resolvePath(dir)
  const warn = options.onWarning ?? (() => {})
  let xattrs = new Map<string, Map<string, Buffer>>()
  if (options.xattrs !== false) {
    const read = await readXattrs(root, msg => warn(`reading extended attributes: ${msg}`))
    if (read === null) warn('extended attributes and opaque directories not recorded: getfattr not found (apt-get install attr)')
    else xattrs = read
  }
  const pack = createPack({highWaterMark: 1 << 20})
  pack.on('error', err => out.destroy(err))
  // A reader that gives up (destroying `out`) stops the walk: the next entry fails.
  out.on('close', () => pack.destroy())
  pack.pipe(out)
  const packer = new TreePacker(root, pack, xattrs, options, warn)
  try {
    await packer.packRoot()
    pack.finalize()
  } catch (err) {
    out.destroy(err instanceof TspodError ? err : new StorageError(`packing ${root}: ${err instanceof Error ? err.message : String(err)}`, {cause: err}))
    pack.destroy()
  }
}

function isOpaque(attrs: Map<string, Buffer> | undefined): boolean {
  if (attrs === undefined) return false
  return OPAQUE_XATTRS.some(name => attrs.get(name)?.toString() === 'y')
}

function isWhiteoutNode(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0n
}

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
}

function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
}

class TreePacker {
  /** dev:ino → the first path written for it, for hard links. */
  private readonly inodes = new Map<string, string>()
  private readonly epoch: number | undefined
  private readonly timestamp: number | undefined

  private readonly mapHeader: PackOptions['mapHeader']

  constructor(
    private readonly root: string,
    private readonly pack: Pack,
    private readonly xattrs: Map<string, Map<string, Buffer>>,
    options: PackOptions,
    private readonly warn: (msg: string) => void,
  ) {
    this.epoch = options.sourceDateEpoch
    this.timestamp = options.timestamp
    this.mapHeader = options.mapHeader
  }

  async packRoot(): Promise<void> {
    const rootStats = statBig(this.root)
    if (!rootStats.isDirectory()) throw new StorageError(`packing ${this.root}: not a directory`)
    if (isOpaque(this.xattrs.get(this.root))) await this.addMarker(OPAQUE_MARKER, rootStats)
    await this.packChildren('', this.root)
  }

  private async packChildren(rel: string, abs: string): Promise<void> {
    const children: Child[] = readdirSync(abs).map(name => {
      const stats = statBig(`${abs}/${name}`)
      const whiteout = isWhiteoutNode(stats)
      return {name, stats, whiteout, tarName: Buffer.from(whiteout ? WHITEOUT_PREFIX + name : name)}
    })
    children.sort((a, b) => (a.whiteout === b.whiteout ? Buffer.compare(a.tarName, b.tarName) : a.whiteout ? -1 : 1))
    for (const child of children) {
      const childRel = rel === '' ? child.name : `${rel}/${child.name}`
      const childAbs = `${abs}/${child.name}`
      if (child.whiteout) {
        await this.addMarker(rel === '' ? WHITEOUT_PREFIX + child.name : `${rel}/${WHITEOUT_PREFIX}${child.name}`, child.stats)
      } else {
        await this.packEntry(childRel, childAbs, child.stats)
      }
    }
  }

  private async packEntry(rel: string, abs: string, stats: Stats): Promise<void> {
    const header = this.baseHeader(rel, stats)
    const attrs = this.xattrs.get(abs)
    this.addXattrs(header, rel, attrs, stats)
    if (stats.isDirectory()) {
      header.type = 'directory'
      await this.add(header)
      if (isOpaque(attrs)) await this.addMarker(`${rel}/${OPAQUE_MARKER}`, stats)
      await this.packChildren(rel, abs)
      return
    }
    if (stats.isSocket()) return
    if (stats.nlink > 1n) {
      const key = `${stats.dev}:${stats.ino}`
      const first = this.inodes.get(key)
      if (first !== undefined) {
        header.type = 'link'
        header.linkname = first
        delete header.pax
        this.withLongIds(header, stats)
        await this.add(header)
        return
      }
      this.inodes.set(key, rel)
    }
    if (stats.isSymbolicLink()) {
      header.type = 'symlink'
      header.linkname = readlinkSync(abs)
      await this.add(header)
    } else if (stats.isFIFO()) {
      header.type = 'fifo'
      await this.add(header)
    } else if (stats.isCharacterDevice() || stats.isBlockDevice()) {
      header.type = stats.isCharacterDevice() ? 'character-device' : 'block-device'
      header.devmajor = major(stats.rdev)
      header.devminor = minor(stats.rdev)
      await this.add(header)
    } else {
      header.type = 'file'
      header.size = Number(stats.size)
      await this.addFile(header, abs)
    }
  }

  private baseHeader(rel: string, stats: Stats): HeaderArgument {
    const header: HeaderArgument = {
      name: rel,
      // The whole st_mode: the writer keeps only the permission bits, and a bare 0 (chmod 0000) would
      // make tar-stream substitute its default 0644.
      mode: Number(stats.mode),
      uid: Number(stats.uid),
      gid: Number(stats.gid),
      mtime: this.clampedMtime(stats),
    }
    this.withLongIds(header, stats)
    return header
  }

  private withLongIds(header: HeaderArgument, stats: Stats): void {
    if (stats.uid > MAX_USTAR_ID) header.pax = {...header.pax, uid: String(stats.uid)}
    if (stats.gid > MAX_USTAR_ID) header.pax = {...header.pax, gid: String(stats.gid)}
  }

  private clampedMtime(stats: Stats): Date {
    if (this.timestamp !== undefined) return new Date(this.timestamp * 1000)
    let seconds = Number(stats.mtimeMs / 1000n)
    if (seconds < 0) seconds = 0
    if (this.epoch !== undefined && seconds > this.epoch) seconds = this.epoch
    return new Date(seconds * 1000)
  }

  private addXattrs(header: HeaderArgument, rel: string, attrs: Map<string, Buffer> | undefined, stats: Stats): void {
    if (attrs === undefined) return
    for (const [name, value] of [...attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!isCarriedXattr(name)) continue
      if (name === 'security.capability' && !stats.isFile()) continue
      const text = value.toString('utf8')
      // tar-stream writes PAX values as UTF-8 text; a value that is not valid UTF-8 would come out altered.
      if (!Buffer.from(text, 'utf8').equals(value)) {
        this.warn(`extended attribute ${name} of ${rel} not recorded: its value is not representable by the tar writer`)
        continue
      }
      header.pax = {...header.pax, [`SCHILY.xattr.${name}`]: text}
    }
  }

  /** A whiteout or opaque marker: an empty regular file whose name is the message. */
  private addMarker(name: string, stats: Stats): Promise<void> {
    return this.add({name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: this.clampedMtime(stats)}, Buffer.alloc(0))
  }

  /** The header as mapHeader has it, or null for an entry it drops. */
  private mapped(original: HeaderArgument): HeaderArgument | null {
    return this.mapHeader ? (this.mapHeader(original) as HeaderArgument | null) : original
  }

  private add(original: HeaderArgument, body?: Buffer): Promise<void> {
    const header = this.mapped(original)
    if (header === null) return Promise.resolve()
    return this.write(header, body)
  }

  private write(header: HeaderArgument, body?: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (body === undefined) this.pack.entry(header as TarHeader, done)
      else this.pack.entry(header as TarHeader, body, done)
    })
  }

  private async addFile(original: HeaderArgument, abs: string): Promise<void> {
    const size = original.size ?? 0
    const header = this.mapped(original)
    // Dropped: not even read.
    if (header === null) return
    if (size <= SMALL_FILE) {
      const body = readFileSync(abs)
      if (body.length !== size) throw new StorageError(`packing ${header.name}: file changed while being read`)
      await this.write(header, body)
      return
    }
    await new Promise<void>((resolve, reject) => {
      const source = createReadStream(abs)
      const entry = this.pack.entry(header as TarHeader, err => {
        if (!err) {
          resolve()
          return
        }
        source.destroy()
        const cause = err.message === 'Size mismatch' ? 'file changed while being read' : err.message
        reject(new StorageError(`packing ${header.name}: ${cause}`, {cause: err}))
      })
      source.on('error', err => {
        entry.destroy(err)
        reject(err)
      })
      source.pipe(entry as unknown as Writable)
    })
  }
}
