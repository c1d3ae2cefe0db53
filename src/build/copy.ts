/**
 * COPY and ADD: finding the sources, digesting them for the cache, and
 * writing them into a step's root file system.
 *
 * Safety: a source path is resolved inside its root (the build context, or
 * a stage's or image's root) the way a container resolves paths, so `..`
 * stops at the root and a symlink, even an absolute one, never leads out of
 * it; inside a copied directory symlinks stay symlinks. The destination is
 * resolved inside the step's root file system the same way, and the files
 * land through the layer extractor (storage/tar-extract.ts), which never
 * writes through a symlink. .dockerignore and --exclude drop entries from the
 * stream before anything is digested or written.
 *
 * Every source becomes a normalised tar stream (owner from --chown or 0:0,
 * mode from --chmod, mtime clamped to the build's epoch) that is read twice:
 * once to digest it for the cache key, and again, on a cache miss, to apply
 * it. What is digested is therefore exactly what is written.
 */
import {createHash} from 'node:crypto'
import {chownSync, createReadStream, lstatSync, mkdirSync, readdirSync, statSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {posix} from 'node:path'
import type {Readable} from 'node:stream'
import {BuildError} from '../errors/index.js'
import {extractInto, resolveInRoot, rewriteTar, sourceTar, type TarEntryHeader} from '../container/copy.js'
import {sha256} from '../storage/hashing.js'
import {applyChmod, type ChmodSpec} from './chmod.js'
import type {LayerTimes} from './layer.js'

/** What `ignores` and `mayContainIncluded` of ignore.ts answer; paths are relative to the context, `/`-separated. */
export interface IgnoreRules {
  ignores(relPath: string, isDir?: boolean): boolean
  mayContainIncluded(relDir: string): boolean
}

export interface ResolvedSource {
  /** The root the source was found in. */
  root: string
  /** Absolute host path, symlinks inside the root resolved. */
  abs: string
  /** The path relative to the root, as matched (for --parents and messages). */
  rel: string
  isDir: boolean
  /** Was the source written with a wildcard. */
  wildcard: boolean
}

export interface SourceOptions {
  /** Applied to context sources; undefined for --from. */
  ignore?: IgnoreRules
  /** How the root is named in messages: `build context`, `stage builder`. */
  rootName: string
}

/** Whether a source is a pattern: an unescaped `*`, `?` or `[`, as BuildKit decides it. */
export function hasGlob(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '\\') i++
    else if (path[i] === '*' || path[i] === '?' || path[i] === '[') return true
  }
  return false
}

/**
 * Go's filepath.Match on one path segment: `*` any run of characters, `?`
 * one, `[abc]`, `[a-z]`, `[^a]`, and `\` escaping the next character.
 */
export function matchSegment(pattern: string, name: string): boolean {
  const memo = new Map<string, boolean>()
  const at = (p: number, n: number): boolean => {
    const key = `${p},${n}`
    const known = memo.get(key)
    if (known !== undefined) return known
    let result: boolean
    if (p === pattern.length) result = n === name.length
    else if (pattern[p] === '*') result = at(p + 1, n) || (n < name.length && at(p, n + 1))
    else if (n === name.length) result = false
    else if (pattern[p] === '?') result = at(p + 1, n + 1)
    else if (pattern[p] === '[') {
      const end = pattern.indexOf(']', p + 2)
      if (end === -1) result = pattern[p] === name[n] && at(p + 1, n + 1)
      else {
        let body = pattern.slice(p + 1, end)
        const negate = body.startsWith('^') || body.startsWith('!')
        if (negate) body = body.slice(1)
        let hit = false
        for (let i = 0; i < body.length; i++) {
          if (body[i + 1] === '-' && i + 2 < body.length) {
            if (name[n]! >= body[i]! && name[n]! <= body[i + 2]!) hit = true
            i += 2
          } else if (body[i] === name[n]) hit = true
        }
        result = hit !== negate && at(end + 1, n + 1)
      }
    } else if (pattern[p] === '\\' && p + 1 < pattern.length) result = pattern[p + 1] === name[n] && at(p + 2, n + 1)
    else result = pattern[p] === name[n] && at(p + 1, n + 1)
    memo.set(key, result)
    return result
  }
  return at(0, 0)
}

/** A `/`-separated pattern against a relative path, segment by segment; `**` spans any number of segments. */
export function matchPath(pattern: string, path: string): boolean {
  const pat = pattern.split('/').filter(s => s !== '' && s !== '.')
  const parts = path.split('/').filter(s => s !== '' && s !== '.')
  const at = (i: number, j: number): boolean => {
    if (i === pat.length) return j === parts.length
    if (pat[i] === '**') return at(i + 1, j) || (j < parts.length && at(i, j + 1))
    return j < parts.length && matchSegment(pat[i]!, parts[j]!) && at(i + 1, j + 1)
  }
  return at(0, 0)
}

function statOrNull(path: string) {
  try {
    return statSync(path)
  } catch {
    return null
  }
}

/** The relative path of an absolute path under root. */
function relativeTo(root: string, abs: string): string {
  return abs === root ? '' : abs.slice(root.length + 1)
}

/** Expand one source as written into what it names inside `root`; throws when it names nothing. */
export function resolveSource(root: string, written: string, options: SourceOptions): ResolvedSource[] {
  const clean = posix.normalize(`/${written}`).slice(1)
  const found: ResolvedSource[] = []
  if (!hasGlob(clean)) {
    const abs = resolveInRoot(root, clean)
    const stats = statOrNull(abs)
    const rel = relativeTo(root, abs)
    if (stats && !(options.ignore && rel !== '' && options.ignore.ignores(rel, stats.isDirectory()) && !(stats.isDirectory() && options.ignore.mayContainIncluded(rel)))) {
      found.push({root, abs, rel: clean, isDir: stats.isDirectory(), wildcard: false})
    }
  } else {
    const segments = clean.split('/').filter(Boolean)
    const walk = (dirRel: string, index: number): void => {
      const dirAbs = resolveInRoot(root, dirRel)
      let names: string[]
      try {
        names = readdirSync(dirAbs).sort()
      } catch {
        return
      }
      const segment = segments[index]!
      if (segment === '**') {
        // Any number of directories, none included.
        if (index < segments.length - 1) walk(dirRel, index + 1)
        for (const name of names) {
          const childRel = dirRel === '' ? name : `${dirRel}/${name}`
          if (statOrNull(resolveInRoot(root, childRel))?.isDirectory()) walk(childRel, index)
        }
        return
      }
      for (const name of names) {
        if (!matchSegment(segment, name)) continue
        const childRel = dirRel === '' ? name : `${dirRel}/${name}`
        const abs = resolveInRoot(root, childRel)
        const stats = statOrNull(abs)
        if (!stats) continue
        if (index < segments.length - 1) {
          if (stats.isDirectory()) walk(childRel, index + 1)
          continue
        }
        const rel = relativeTo(root, abs)
        if (options.ignore && options.ignore.ignores(rel, stats.isDirectory()) && !(stats.isDirectory() && options.ignore.mayContainIncluded(rel))) continue
        found.push({root, abs, rel: childRel, isDir: stats.isDirectory(), wildcard: true})
      }
    }
    walk('', 0)
  }
  if (found.length === 0) {
    throw new BuildError(`${written}: no such file or directory in the ${options.rootName}`, {
      hint: options.ignore ? 'Check the path, and that .dockerignore does not exclude it' : undefined,
    })
  }
  return found
}

export interface StreamOptions {
  times: LayerTimes
  /** --chown, resolved; default root. */
  owner?: {uid: number; gid: number}
  /** --chmod, applied to every file and directory copied. */
  chmod?: ChmodSpec
  /** --exclude patterns, matched against paths relative to the source. */
  excludes: string[]
  ignore?: IgnoreRules
  /** Keep the ids the archive says (ADD of a local tar without --chown). */
  keepOwners?: boolean
}

function clampMtime(mtime: Date | undefined, times: LayerTimes): Date {
  const seconds = times.timestamp ?? Math.min(Math.max(0, Math.floor((mtime?.getTime() ?? 0) / 1000)), times.epoch)
  return new Date(seconds * 1000)
}

/**
 * The source as a normalised tar. A directory's entries are its contents
 * (`prefix/…`); a file is one entry named `prefix`. Entries .dockerignore or
 * --exclude drop are left out.
 */
export async function normalisedTar(source: ResolvedSource, prefix: string, options: StreamOptions): Promise<Readable> {
  if (source.isDir && lstatSync(source.abs).isDirectory()) {
    // The packer normalises each header as it writes it: no second parse and pack of 10,000 entries.
    const {packDirectory} = await import('../storage/layer-tar.js')
    return packDirectory(source.abs, {mapHeader: header => normaliseHeader(header as TarEntryHeader, source, prefix, options)})
  }
  const inner = await sourceTar(source.abs, source.isDir ? '' : 'f')
  return rewriteTar(inner, header => normaliseHeader(header, source, prefix, options))
}

function normaliseHeader(header: TarEntryHeader, source: ResolvedSource, prefix: string, options: StreamOptions): TarEntryHeader | null {
  const inner = header.name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '')
  const isDir = header.type === 'directory'
  if (source.isDir) {
    const rel = inner
    const contextRel = source.rel === '' ? rel : `${relativeTo(source.root, source.abs)}/${rel}`.replace(/^\//, '')
    // An ignored directory is left out even when files below it are not: the extractor makes their parents.
    if (options.ignore?.ignores(contextRel, isDir)) return null
    if (options.excludes.some(p => matchPath(p, rel) || matchPath(`${p}/**`, rel))) return null
    header.name = prefix === '' ? rel : `${prefix}/${rel}`
    if (header.type === 'link' && header.linkname) {
      const target = header.linkname.replace(/^(\.\/|\/)+/, '')
      header.linkname = prefix === '' ? target : `${prefix}/${target}`
    }
  } else {
    header.name = prefix
    // sourceTar's writer turned a mode of 0 into 0644; the file itself knows better.
    header.mode = lstatSync(source.abs).mode
  }
  if (isDir) header.name += '/'
  if (options.owner) {
    header.uid = options.owner.uid
    header.gid = options.owner.gid
  } else if (!options.keepOwners) {
    header.uid = 0
    header.gid = 0
  }
  if (options.chmod !== undefined && header.type !== 'symlink') header.mode = applyChmod(options.chmod, header.mode ?? 0o644, isDir)
  header.mode = keepZeroMode(header.mode ?? 0)
  header.mtime = clampMtime(header.mtime, options.times)
  if (header.pax) for (const key of ['mtime', 'atime', 'ctime', 'uname', 'gname']) delete header.pax[key]
  return header
}

/**
 * tar-stream writes only the permission bits of a mode but replaces a mode
 * of 0 (chmod 0000) with its default 0644: a type bit it masks off keeps 0.
 */
export function keepZeroMode(mode: number): number {
  return (mode & 0o7777) | 0o100000
}

/**
 * sha256 of a stream's bytes, and the bytes themselves while they stay
 * within `limit` (undefined past it): a COPY reads its sources once for its
 * cache key and applies the same bytes, rather than reading them again.
 */
export async function digestAndKeep(stream: Readable, limit: number): Promise<{digest: string; bytes?: Buffer}> {
  const hash = createHash('sha256')
  let chunks: Buffer[] | undefined = []
  let size = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk)
    if (chunks === undefined) continue
    size += chunk.length
    if (size > limit) chunks = undefined
    else chunks.push(chunk)
  }
  return {digest: `sha256:${hash.digest('hex')}`, bytes: chunks && Buffer.concat(chunks, size)}
}

/** sha256 of a stream's bytes. */
export async function digestStream(stream: Readable): Promise<string> {
  return (await digestAndKeep(stream, 0)).digest
}

/** Whether a file is a tar archive ADD unpacks: plain, or compressed with gzip, bzip2, xz or zstd. */
export async function isLocalArchive(path: string): Promise<boolean> {
  const {detectCompression} = await import('../storage/compression.js')
  const handle = await open(path, 'r')
  try {
    const head = Buffer.alloc(512)
    const {bytesRead} = await handle.read(head, 0, 512, 0)
    if (detectCompression(head.subarray(0, bytesRead)) !== 'none') return true
    return bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar'
  } finally {
    await handle.close()
  }
}

/** The entries of a local archive (any compression), normalised like a copied directory's under `prefix`. */
export async function archiveTar(path: string, prefix: string, options: StreamOptions): Promise<Readable> {
  const {decompressStream, detectCompression, peekStream} = await import('../storage/compression.js')
  const {head, stream} = await peekStream(createReadStream(path), 6)
  const plain = decompressStream(stream, detectCompression(head))
  const source: ResolvedSource = {root: '/', abs: path, rel: '', isDir: true, wildcard: false}
  return rewriteTar(plain, header => {
    if (header.type === 'link' || header.type === 'symlink' || header.type === 'file' || header.type === 'directory' || header.type === 'fifo' || header.type === 'character-device' || header.type === 'block-device') {
      return normaliseHeader(header, source, prefix, {...options, ignore: undefined, keepOwners: options.owner === undefined})
    }
    return null
  })
}

/** Where a source goes in the step's root: the directory to extract into, and the name of a file source there. */
export interface Placement {
  dir: string
  prefix: string
}

/**
 * Docker's destination rules: a destination ending in `/`, an existing
 * directory, several sources or a wildcard mean "into this directory";
 * otherwise a single file source is copied to that exact path. Directories
 * copy their contents. With --parents the source's path below the root is
 * kept.
 */
export function placeSource(dest: string, source: ResolvedSource, intoDir: boolean, parents: boolean, archive: boolean): {dir: string; prefix: string} {
  const base = posix.normalize(dest).replace(/(.)\/+$/, '$1')
  const parentPath = parents ? posix.normalize(source.rel) : ''
  if (source.isDir || archive) return {dir: base, prefix: parents && parentPath !== '.' ? parentPath : ''}
  if (intoDir) return {dir: base, prefix: parents ? parentPath : posix.basename(source.abs)}
  return {dir: posix.dirname(base), prefix: posix.basename(base)}
}

/** Whether the destination names a directory: written with a trailing `/`, or an existing directory in the root. */
export function destinationIsDirectory(rootfs: string, dest: string, count: number, wildcard: boolean): boolean {
  if (dest.endsWith('/') || dest.endsWith('/.') || count > 1 || wildcard) return true
  try {
    return statSync(resolveInRoot(rootfs, dest)).isDirectory()
  } catch {
    return false
  }
}

/**
 * Create a directory of the step's root (and its parents) without following
 * a symlink out of it; returns the host path. Directories made here belong
 * to `owner` (--chown), else root.
 */
export function makeDirectoryInRoot(rootfs: string, path: string, owner?: {uid: number; gid: number}): string {
  const abs = resolveInRoot(rootfs, path)
  const existing = (() => {
    try {
      return lstatSync(abs)
    } catch {
      return null
    }
  })()
  if (existing && !existing.isDirectory()) throw new BuildError(`${path}: exists in the image and is not a directory`)
  if (!existing) {
    const first = mkdirSync(abs, {recursive: true, mode: 0o755})
    if (owner && first !== undefined) {
      for (let dir = abs; dir.length >= first.length; dir = posix.dirname(dir)) chownSync(dir, owner.uid, owner.gid)
    }
  }
  return abs
}

/** Write a normalised tar into the step's root under `dir` (a path inside the root). */
export async function applyTar(rootfs: string, dir: string, tar: Readable, rootless: boolean, onWarning?: (message: string) => void, owner?: {uid: number; gid: number}): Promise<void> {
  const target = makeDirectoryInRoot(rootfs, dir, owner)
  await extractInto(tar, {dir: target, display: rel => posix.join(dir, rel)}, {overwrite: true, rootless, onWarning})
}

/** A digest that names a set of source digests, for history and the cache key. */
export function combineDigests(digests: string[]): string {
  return digests.length === 1 ? digests[0]! : sha256(digests.join('\n'))
}
