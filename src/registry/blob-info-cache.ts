/**
 * What push learnt about a layer's compressed forms: DiffID → the digest,
 * size and media type it had once compressed, as Podman's blob-info cache
 * keeps it. A later push asks the registry for that digest before it
 * compresses anything, and sends the compressed copy the store kept when the
 * registry lacks it. The file is a cache: losing it or an entry costs only a
 * compression, so it is rewritten atomically without the store lock, and a
 * concurrent writer may win.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeJsonAtomic} from '../util/atomic.js'

export interface BlobInfo {
  digest: string
  size: number
  mediaType: string
  /** gzip or zstd. */
  compression: string
  /** The program that made it (pigz, zlib, zstd): the digest depends on it. */
  compressor: string
}

interface BlobInfoFile {
  version: 1
  /** By DiffID, newest first. */
  layers: Record<string, BlobInfo[]>
}

/** Compressed forms kept per DiffID: one per compression and compressor is plenty. */
const MAX_PER_LAYER = 4
const FILE_NAME = 'blob-info-cache.json'

function cachePath(graphRoot: string): string {
  return join(graphRoot, FILE_NAME)
}

function readCache(graphRoot: string): BlobInfoFile {
  try {
    const data = JSON.parse(readFileSync(cachePath(graphRoot), 'utf8')) as BlobInfoFile
    if (data.version === 1 && data.layers && typeof data.layers === 'object') return data
  } catch {
    // Missing or damaged: an empty cache; the next record rewrites it.
  }
  return {version: 1, layers: {}}
}

/** The known compressed forms of a layer with `compression`, newest first. */
export function lookupBlobInfo(graphRoot: string, diffId: string, compression: string): BlobInfo[] {
  return (readCache(graphRoot).layers[diffId] ?? []).filter(info => info.compression === compression)
}

export async function recordBlobInfo(graphRoot: string, diffId: string, info: BlobInfo): Promise<void> {
  const cache = readCache(graphRoot)
  const others = (cache.layers[diffId] ?? []).filter(known => known.digest !== info.digest)
  cache.layers[diffId] = [info, ...others].slice(0, MAX_PER_LAYER)
  await writeJsonAtomic(cachePath(graphRoot), cache)
}
