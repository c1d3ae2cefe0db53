/**
 * The build cache (--layers): a step whose key was seen before reuses the
 * image it produced then. The key is everything that decides the step's
 * result: the parent image ID, the instruction after variable expansion, the
 * format and timestamps the image is written with, and for steps that read
 * files (COPY/ADD sources after .dockerignore, RUN bind mounts) a digest of
 * their contents. Changing one file changes the key of the step that reads
 * it; the steps after it then have a new parent ID, so they rebuild too, and
 * the steps before it still hit.
 *
 * The index is one small file per key under `<graph root>/build-cache/`
 * naming the image; a hit is only taken when that image is still in the
 * store, so removing images (rmi, prune) needs no cache bookkeeping. Its
 * modification time is when the step was built (or pulled from a cache
 * repository), which --cache-ttl measures: the images themselves carry the
 * build's epoch as their creation time, not the wall clock.
 */
import {readFileSync, statSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {sha256} from '../storage/hashing.js'
import type {Store} from '../storage/store.js'
import {writeFileAtomic} from '../util/atomic.js'

export interface CacheKeyInput {
  parent: string
  /** The instruction as it will run: keyword, flags and arguments after expansion. */
  instruction: string
  /** Digests of what the step reads besides its parent (files, mounts), in a fixed order. */
  contents?: string[]
  /** Anything else that changes the result: format, timestamps, build-arg environment. */
  settings?: Record<string, unknown>
}

/** The cache key of a step: a sha256 digest of its inputs in a fixed order. */
export function stepCacheKey(input: CacheKeyInput): string {
  return sha256(JSON.stringify([input.parent, input.instruction, input.contents ?? [], sortedEntries(input.settings ?? {})]))
}

function sortedEntries(record: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function cacheDir(store: Store): string {
  return join(store.graphRoot, 'build-cache')
}

function keyPath(store: Store, key: string): string {
  return join(cacheDir(store), key.replace(/^sha256:/, ''))
}

/** The image a key produced before, if the store still has it and, with `maxAgeMs` (--cache-ttl), it was recorded no longer ago than that. */
export function lookupCache(store: Store, key: string, maxAgeMs?: number): string | undefined {
  let id: string
  try {
    const path = keyPath(store, key)
    if (maxAgeMs !== undefined && Date.now() - statSync(path).mtimeMs > maxAgeMs) return undefined
    id = readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
  const image = store.readImages().find(i => i.id === id)
  if (!image || !image.layers.every(l => store.hasLayer(l))) return undefined
  return id
}

export async function recordCache(store: Store, key: string, imageId: string): Promise<void> {
  await mkdir(cacheDir(store), {recursive: true, mode: 0o700})
  await writeFileAtomic(keyPath(store, key), `${imageId}\n`)
}
