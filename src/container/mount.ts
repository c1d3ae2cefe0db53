/**
 * A container's root file system as a directory tspod itself can read and
 * write: cp, diff, export and commit work on it, and `tspod mount` hands it
 * to the user. Rootless, the overlay can only be mounted inside tspod's
 * mount namespace, so everything here expects to run there (as root, or in
 * a process the dispatcher re-executed through tspod-ns); the one exception,
 * unmountContainer, reaches in through the helper itself.
 *
 * A running container's overlay is already mounted at `merged` by its
 * monitor, and so is one the user mounted; those mounts are used as they are.
 * Otherwise a temporary mount is made on a private directory, never on
 * `merged`: a container started meanwhile mounts its own overlay there, and
 * unmounting `merged` afterwards would take that mount away.
 */
import {existsSync, mkdtempSync, readFileSync, realpathSync, rmdirSync} from 'node:fs'
import {join} from 'node:path'
import {TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {runInNamespace} from '../rootless/ns-exec.js'
import {containerPaths, currentState, isActive, readAllRecords, type ContainerRecord} from './container-store.js'

/** The kernel takes the whole option string in one page. */
const MAX_OPTIONS = 4000

/** `lowerdir=…,upperdir=…,workdir=…[,userxattr]` for the container's overlay, as its monitor mounts it. */
export function overlayMountOptions(engine: Engine, record: ContainerRecord): string {
  const paths = containerPaths(engine.store, record.id)
  const lower = [...record.layers].reverse().map(l => engine.store.layerDiffDir(l)).join(':')
  let opts = `lowerdir=${lower},upperdir=${paths.diff},workdir=${paths.work}`
  if (engine.rootless) opts += ',userxattr'
  if (opts.length > MAX_OPTIONS) {
    throw new TspodError(`the overlay mount options for ${record.name} are too long (${opts.length} bytes; the kernel takes one page)`, {hint: 'Use a shorter --root path, or an image with fewer layers'})
  }
  return opts
}

/** `\040` and friends in /proc/self/mountinfo back to bytes. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/** Mount points of this process's mount namespace, from /proc/self/mountinfo. */
export function mountPoints(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): Set<string> {
  const points = new Set<string>()
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4]
    if (field !== undefined) points.add(unescapeMountPath(field))
  }
  return points
}

/** The container's rootfs if something (its monitor, `tspod mount`) has it mounted in this namespace. */
export function mountedRootfs(engine: Engine, record: ContainerRecord, points = mountPoints()): string | undefined {
  const paths = containerPaths(engine.store, record.id)
  if (record.rootfsKind === 'copy') return existsSync(join(paths.dir, '.rootfs-complete')) ? paths.rootfs : undefined
  return points.has(paths.merged) || points.has(realPath(paths.merged)) ? paths.merged : undefined
}

function realPath(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

async function runMount(engine: Engine, args: string[], what: string): Promise<void> {
  const result = await runInNamespace(engine.store.runRoot, args)
  if (result.code !== 0) throw new TspodError(`${what}: ${result.stderr.trim().split('\n').pop() ?? `exit status ${result.code}`}`)
}

function requireOverlay(record: ContainerRecord): void {
  if (record.rootfsKind === 'copy') {
    throw new TspodError(`container ${record.name} has no root file system yet: with the vfs driver it is copied from the image when the container first starts`, {hint: `Start it once (tspod start ${record.name})`})
  }
}

/**
 * Run fn with the container's root file system: the existing mount when
 * there is one, else a temporary read-write mount that is removed afterwards.
 */
export async function withContainerRootfs<T>(engine: Engine, record: ContainerRecord, fn: (root: string) => Promise<T>): Promise<T> {
  const existing = mountedRootfs(engine, record)
  if (existing) return fn(existing)
  requireOverlay(record)
  const target = mkdtempSync(join(engine.store.runRoot, 'mnt-'))
  try {
    await runMount(engine, ['mount', '-t', 'overlay', 'overlay', '-o', overlayMountOptions(engine, record), target], `mounting the root file system of ${record.name}`)
    try {
      return await fn(target)
    } finally {
      await runMount(engine, ['umount', target], `unmounting the root file system of ${record.name}`)
    }
  } finally {
    rmdirSync(target)
  }
}

/**
 * The image view under a set of layers (ChainIDs, bottom first), read-only,
 * for comparing an upper layer with what it covers; fn gets undefined when
 * there are no layers below.
 */
export async function withLowerView<T>(engine: Engine, layers: string[], fn: (root: string | undefined) => Promise<T>): Promise<T> {
  if (layers.length === 0) return fn(undefined)
  const dirs = [...layers].reverse().map(l => engine.store.layerDiffDir(l))
  // One directory is its own view; overlay refuses a mount of a single lower without an upper.
  if (dirs.length === 1) return fn(dirs[0])
  const target = mkdtempSync(join(engine.store.runRoot, 'lower-'))
  try {
    const opts = `ro,lowerdir=${dirs.join(':')}${engine.rootless ? ',userxattr' : ''}`
    await runMount(engine, ['mount', '-t', 'overlay', 'overlay', '-o', opts, target], 'mounting the image layers')
    try {
      return await fn(target)
    } finally {
      await runMount(engine, ['umount', target], 'unmounting the image layers')
    }
  } finally {
    rmdirSync(target)
  }
}

/** `tspod mount`: mount the rootfs at `merged` (if it is not mounted already) and return the path. */
export async function mountContainer(engine: Engine, record: ContainerRecord): Promise<string> {
  const existing = mountedRootfs(engine, record)
  if (existing) return existing
  requireOverlay(record)
  const paths = containerPaths(engine.store, record.id)
  await runMount(engine, ['mount', '-t', 'overlay', 'overlay', '-o', overlayMountOptions(engine, record), paths.merged], `mounting the root file system of ${record.name}`)
  return paths.merged
}

export type UnmountResult = 'unmounted' | 'not-mounted' | 'in-use'

/**
 * `tspod unmount`: a running container's mount belongs to its monitor, which
 * unmounts it when the container exits; it is left alone ('in-use').
 */
export async function unmountContainer(engine: Engine, record: ContainerRecord): Promise<UnmountResult> {
  if (record.rootfsKind === 'copy') return 'not-mounted'
  if (isActive(currentState(engine.store, record.id))) return 'in-use'
  const merged = containerPaths(engine.store, record.id).merged
  // From outside the namespace this process cannot see the mount: umount, inside, tells.
  const script = 'mountpoint -q "$1" || exit 3; umount "$1"'
  const result = await runInNamespace(engine.store.runRoot, ['sh', '-c', script, 'sh', merged])
  if (result.code === 3) return 'not-mounted'
  if (result.code !== 0) throw new TspodError(`unmounting the root file system of ${record.name}: ${result.stderr.trim().split('\n').pop() ?? `exit status ${result.code}`}`)
  return 'unmounted'
}

export interface MountedContainer {
  id: string
  name: string
  path: string
}

/** Containers whose rootfs is mounted in this namespace (running ones included). */
export function listMountedContainers(engine: Engine): MountedContainer[] {
  const points = mountPoints()
  const out: MountedContainer[] = []
  for (const record of readAllRecords(engine.store)) {
    if (record.rootfsKind === 'copy') continue
    const path = mountedRootfs(engine, record, points)
    if (path) out.push({id: record.id, name: record.name, path})
  }
  return out
}
