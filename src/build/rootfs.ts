/**
 * Root file systems a build step works on without a container: COPY and ADD
 * write into an overlay of the parent's layers whose upper directory becomes
 * the step's layer, and COPY --from and RUN --mount=from= read a stage's or
 * image's layers through a read-only overlay. Everything lives under the
 * store's tmp/ (named after this process, so a killed build's leftovers are
 * swept by the next writer) and is registered with the abort registry, so an
 * interrupted build leaves no mount behind. Runs inside tspod's user and
 * mount namespace, like the rest of the build.
 */
import {mkdirSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import {StorageError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {runInNamespace} from '../rootless/ns-exec.js'
import type {AbortRegistry} from './abort.js'

async function mountOverlay(engine: Engine, options: string, target: string): Promise<void> {
  const result = await runInNamespace(engine.store.runRoot, ['mount', '-t', 'overlay', 'overlay', '-o', options, target])
  if (result.code !== 0) throw new StorageError(`mounting a build root file system at ${target}: ${result.stderr.trim().split('\n').pop() ?? `exit status ${result.code}`}`)
}

async function unmount(engine: Engine, target: string): Promise<void> {
  const result = await runInNamespace(engine.store.runRoot, ['umount', target])
  if (result.code !== 0) throw new StorageError(`unmounting ${target}: ${result.stderr.trim().split('\n').pop() ?? `exit status ${result.code}`}`)
}

/**
 * `volatile` (Linux 5.10) spares the sync of the whole upper file system that
 * an unmount otherwise does: 140 ms after a COPY of 10,000 small files here.
 * The upper directory is used once and then becomes a layer, which the store
 * keeps as it keeps a pulled one (page cache, no per-file fsync), so nothing
 * is lost that a plain mount would have kept. Older kernels refuse the
 * option: then the mount is made without it.
 */
let volatileRefused = false

async function mountWritable(engine: Engine, options: string, target: string): Promise<void> {
  if (!volatileRefused) {
    const result = await runInNamespace(engine.store.runRoot, ['mount', '-t', 'overlay', 'overlay', '-o', `${options},volatile`, target])
    if (result.code === 0) return
    volatileRefused = true
  }
  await mountOverlay(engine, options, target)
}

function lowerDirs(engine: Engine, layers: string[]): string {
  return [...layers].reverse().map(l => engine.store.layerDiffDir(l)).join(':')
}

/**
 * Give `write` a writable root file system over `layers`; once it is
 * unmounted, give `pack` the upper directory holding what `write` changed.
 */
export async function withWritableRootfs<T>(
  engine: Engine,
  layers: string[],
  abort: AbortRegistry,
  write: (root: string) => Promise<void>,
  pack: (upperDir: string) => Promise<T>,
): Promise<T> {
  const dir = engine.store.stagingPath('build-rootfs')
  const upper = join(dir, 'diff')
  const work = join(dir, 'work')
  const merged = join(dir, 'merged')
  for (const d of [upper, work, merged]) mkdirSync(d, {recursive: true, mode: 0o755})
  let mounted = false
  const cleanup = async (): Promise<void> => {
    if (mounted) await unmount(engine, merged)
    mounted = false
    await rm(dir, {recursive: true, force: true})
  }
  const unregister = abort.add(cleanup)
  try {
    if (layers.length === 0) {
      // Nothing below (FROM scratch): the upper directory is the whole root.
      await write(upper)
    } else {
      await mountWritable(engine, `lowerdir=${lowerDirs(engine, layers)},upperdir=${upper},workdir=${work}${engine.rootless ? ',userxattr' : ''}`, merged)
      mounted = true
      try {
        await write(merged)
      } finally {
        await unmount(engine, merged)
        mounted = false
      }
    }
    return await pack(upper)
  } finally {
    unregister()
    await cleanup()
  }
}

/** Give `read` a read-only view of an image's layers. */
export async function withReadOnlyRootfs<T>(engine: Engine, layers: string[], abort: AbortRegistry, read: (root: string) => Promise<T>): Promise<T> {
  if (layers.length === 0) {
    const empty = engine.store.stagingPath('build-empty')
    mkdirSync(empty, {recursive: true, mode: 0o755})
    try {
      return await read(empty)
    } finally {
      await rm(empty, {recursive: true, force: true})
    }
  }
  // One directory is its own view; overlay refuses a single lower without an upper.
  if (layers.length === 1) return read(engine.store.layerDiffDir(layers[0]!))
  const target = engine.store.stagingPath('build-view')
  mkdirSync(target, {recursive: true, mode: 0o755})
  let mounted = false
  const cleanup = async (): Promise<void> => {
    if (mounted) await unmount(engine, target)
    mounted = false
    await rm(target, {recursive: true, force: true})
  }
  const unregister = abort.add(cleanup)
  try {
    await mountOverlay(engine, `ro,lowerdir=${lowerDirs(engine, layers)}${engine.rootless ? ',userxattr' : ''}`, target)
    mounted = true
    return await read(target)
  } finally {
    unregister()
    await cleanup()
  }
}
