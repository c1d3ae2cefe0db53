/**
 * Containers in the store. Each container has a directory under
 * `<graph root>/containers/<id>/` holding its record (container.json, written
 * once at create and on rename), its state (state.json, replaced atomically at
 * every transition), the OCI bundle and the log (userdata/), and its overlay
 * directories (diff, work, merged). `containers.json` indexes names, IDs and
 * images; adding to it under the store lock is the commit point of a create,
 * so two `run --name x` at once cannot both win. Volatile runtime files (the
 * monitor's attach socket, the runtime's state) live under the run root.
 *
 * What a container "is" right now is derived, not just read: the exit file
 * the monitor writes when the container exits and whether the recorded pids
 * still name the same processes (pid and start time) decide between running
 * and exited, so a killed monitor or CLI never leaves `ps` lying.
 */
import {existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import {InvalidArgumentError, NameInUseError, NoSuchContainerError, StorageError, isErrno} from '../errors/index.js'
import type {Store} from '../storage/store.js'
import {replaceFile, writeFileAtomic, writeFileAtomicSync, writeFilesAtomicSync, writeJsonAtomic} from '../util/atomic.js'
import {isLiveProcess} from '../util/lock.js'
import {generateId, generateName, isValidName} from './names.js'

export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped'
  maxRetries: number
}

export interface MountRecord {
  type: 'bind' | 'volume' | 'tmpfs'
  source: string
  destination: string
  options: string[]
  /** Named volume, when type is volume. */
  name?: string
}

export interface ContainerRecord {
  id: string
  name: string
  /** Image ID. */
  image: string
  /** The image as the user named it, resolved (e.g. localhost/busybox:latest). */
  imageName: string
  /** ChainIDs of the image's layers, bottom first: the rootfs's lower layers. */
  layers: string[]
  created: string
  /** The process as it runs: entrypoint + command. */
  args: string[]
  entrypoint: string[]
  cmd: string[]
  /** The command line that created it, for inspect. */
  createCommand: string[]
  env: string[]
  workdir: string
  user: string
  hostname: string
  tty: boolean
  stdin: boolean
  labels: Record<string, string>
  annotations: Record<string, string>
  restartPolicy: RestartPolicy
  autoRemove: boolean
  stopSignal: number
  stopTimeout: number
  logDriver: 'k8s-file' | 'none' | 'passthrough'
  logMaxSize: number
  network: 'none' | 'host' | 'private'
  runtime: {name: string; path: string}
  mounts: MountRecord[]
  /** Resource limits that were asked for but cannot be enforced on this host. */
  unenforced: string[]
  /** Everything else the create flags said, kept for inspect and for regenerating the spec. */
  options: Record<string, unknown>
  /** Whether the rootfs is an overlay over the image layers (overlay driver) or a copy (vfs). */
  rootfsKind: 'overlay' | 'copy'
  cidFile?: string
  sdnotify?: 'container' | 'conmon' | 'ignore'
  /** The healthcheck in the image config's shape (durations in nanoseconds), when there is one. */
  healthcheck?: {Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number}
  healthOnFailure?: 'none' | 'kill' | 'restart' | 'stop'
  /** `--secret` uses, without their data: exec reads env-type values from the secret store. */
  secrets?: Array<{ID: string; Name: string; Target: string; Type: string; UID: number; GID: number; Mode: number}>
  /** The pod (id) the container belongs to. */
  pod?: string
  /** The pod's infra container, which holds the namespaces its other containers join. */
  infra?: boolean
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopping' | 'exited' | 'removing'

export interface ContainerState {
  status: ContainerStatus
  pid?: number
  pidStart?: string
  monitorPid?: number
  monitorStart?: string
  startedAt?: string
  finishedAt?: string
  exitCode?: number
  restartCount: number
  /** Stopped by the user (stop, kill, rm): unless-stopped and always do not restart it. */
  stoppedByUser?: boolean
  error?: string
}

export interface ContainerIndexEntry {
  id: string
  names: string[]
  image: string
  created: string
}

export interface ContainerPaths {
  dir: string
  record: string
  state: string
  userdata: string
  bundle: string
  log: string
  exitFile: string
  diff: string
  work: string
  merged: string
  rootfs: string
  /** Short, so socket paths stay under the kernel's 108-byte limit. */
  socketDir: string
  attach: string
  pidFile: string
}

export function containerPaths(store: Store, id: string): ContainerPaths {
  const dir = join(store.graphRoot, 'containers', id)
  const userdata = join(dir, 'userdata')
  const socketDir = join(store.runRoot, 's', id.slice(0, 12))
  return {
    dir,
    record: join(dir, 'container.json'),
    state: join(dir, 'state.json'),
    userdata,
    bundle: userdata,
    log: join(userdata, 'ctr.log'),
    exitFile: join(userdata, 'exit'),
    diff: join(dir, 'diff'),
    work: join(dir, 'work'),
    merged: join(dir, 'merged'),
    rootfs: join(dir, 'rootfs'),
    socketDir,
    attach: join(socketDir, 'attach'),
    pidFile: join(socketDir, 'pid'),
  }
}

/**
 * The OCI runtime's --root: RUNROOT/rt, a symlink to RUNROOT/runtime, made
 * here when missing (the run root is a tmpfs, emptied at boot). The short
 * name matters: with --sdnotify=container crun binds a socket at
 * ROOT/ID/notify/notify, and a socket path has 107 bytes, so the run root
 * may be 25 characters long (/run/user/UID/tspod for any UID) where
 * RUNROOT/runtime allowed 20 (UIDs of up to 4 digits). The directory keeps
 * its old name so that containers started before the change are found
 * under either.
 */
export function runtimeStateDir(store: Store): string {
  const link = join(store.runRoot, 'rt')
  if (existsSync(link)) return link
  mkdirSync(join(store.runRoot, 'runtime'), {recursive: true, mode: 0o700})
  try {
    symlinkSync('runtime', link)
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw new StorageError(`creating ${link}: ${(err as Error).message}`)
  }
  return link
}

function indexPath(store: Store): string {
  return join(store.graphRoot, 'containers.json')
}

/** The committed index, read without a lock (it is only replaced by rename). */
export function readContainerIndex(store: Store): ContainerIndexEntry[] {
  return store.readContainerRefs()
}

/** Synchronous, as the container's own files (writeFilesAtomicSync says why): every create and removal waits for it. */
async function writeIndex(store: Store, entries: ContainerIndexEntry[]): Promise<void> {
  writeFileAtomicSync(indexPath(store), JSON.stringify({version: 1, containers: entries}, null, 1) + '\n')
}

export function readRecord(store: Store, id: string): ContainerRecord {
  try {
    return JSON.parse(readFileSync(containerPaths(store, id).record, 'utf8')) as ContainerRecord
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NoSuchContainerError(id)
    throw new StorageError(`reading container ${id}: ${(err as Error).message}`, {hint: 'Run: tspod system check --repair'})
  }
}

/** Every container's record, skipping one whose files a concurrent removal took away. */
export function readAllRecords(store: Store): ContainerRecord[] {
  const out: ContainerRecord[] = []
  for (const entry of readContainerIndex(store)) {
    try {
      out.push(readRecord(store, entry.id))
    } catch {
      // removed meanwhile
    }
  }
  return out
}

export function readState(store: Store, id: string): ContainerState {
  try {
    return JSON.parse(readFileSync(containerPaths(store, id).state, 'utf8')) as ContainerState
  } catch {
    return {status: 'created', restartCount: 0}
  }
}

/**
 * `durable: false` for the transient states (running, stopping): a power
 * loss ends the container anyway, and the fsyncs cost more than the write.
 */
export async function writeState(store: Store, id: string, state: ContainerState, options: {durable?: boolean} = {}): Promise<void> {
  const path = containerPaths(store, id).state
  if (options.durable === false) await replaceFile(path, JSON.stringify(state, null, 1) + '\n')
  else await writeJsonAtomic(path, state)
}

export interface ExitInfo {
  exitCode: number
  finishedAt: Date
}

/** The monitor's exit file: `EXITCODE FINISHED_UNIX_NANOSECONDS`. */
export function readExit(path: string): ExitInfo | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  const [code, nanos] = text.trim().split(/\s+/)
  if (code === undefined || !/^-?\d+$/.test(code)) return undefined
  const ms = nanos && /^\d+$/.test(nanos) ? Number(BigInt(nanos) / 1000000n) : Date.now()
  return {exitCode: Number(code), finishedAt: new Date(ms)}
}

export function isSameProcess(pid: number | undefined, start: string | undefined): boolean {
  return isLiveProcess(pid, start)
}

/**
 * The state as it really is now: an exit file newer than the start means
 * exited; a running state whose container process is gone without an exit
 * file (the monitor was killed) is exited with an unknown code.
 */
export function currentState(store: Store, id: string): ContainerState {
  const state = readState(store, id)
  if (state.status !== 'running' && state.status !== 'stopping' && state.status !== 'paused') return state
  const exit = readExit(containerPaths(store, id).exitFile)
  if (exit && (!state.startedAt || exit.finishedAt.getTime() >= Date.parse(state.startedAt) - 1000)) {
    return {...state, status: 'exited', exitCode: exit.exitCode, finishedAt: exit.finishedAt.toISOString()}
  }
  if (isSameProcess(state.pid, state.pidStart)) return state
  if (isSameProcess(state.monitorPid, state.monitorStart)) return state // exiting: the monitor is writing the exit file
  return {...state, status: 'exited', exitCode: state.exitCode ?? -1, finishedAt: state.finishedAt ?? new Date().toISOString(), error: 'the container\'s monitor ended without recording an exit code'}
}

export function isActive(state: ContainerState): boolean {
  return state.status === 'running' || state.status === 'stopping' || state.status === 'paused'
}

/**
 * Find a container in Podman's order: full ID, then name, then unique ID
 * prefix, so a container named like the start of another's ID (`abc`,
 * `deadbeef`) stays reachable by its name.
 */
export function findContainer(store: Store, input: string): ContainerIndexEntry | undefined {
  const entries = readContainerIndex(store)
  const id = input.replace(/^sha256:/, '')
  const byId = entries.find(e => e.id === id)
  if (byId) return byId
  const byName = entries.find(e => e.names.includes(input))
  if (byName) return byName
  if (!/^[a-f0-9]+$/.test(id)) return undefined
  const hits = entries.filter(e => e.id.startsWith(id))
  if (hits.length > 1) throw new InvalidArgumentError(`more than one result for container "${input}"`, {hint: 'Give more characters of the ID, or the name'})
  return hits[0]
}

export function lookupContainer(store: Store, input: string): ContainerIndexEntry {
  const entry = findContainer(store, input)
  if (!entry) throw new NoSuchContainerError(input)
  return entry
}

/** The most recently created container, for `-l/--latest`. */
export function latestContainer(store: Store): ContainerIndexEntry {
  const entries = readContainerIndex(store)
  if (entries.length === 0) throw new NoSuchContainerError('latest')
  return entries.reduce((a, b) => (Date.parse(b.created) > Date.parse(a.created) ? b : a))
}

export interface AddContainerOptions {
  name?: string
}

/**
 * Reserve an ID and a name, then create the container's directory with its
 * record via `prepare`, and commit it to the index. The name check and the
 * index write happen under the store lock: of two creates with one name,
 * exactly one wins and the other gets Podman's "already in use" error.
 */
export async function addContainer(
  store: Store,
  options: AddContainerOptions,
  prepare: (id: string, name: string) => Promise<ContainerRecord>,
): Promise<ContainerRecord> {
  if (options.name !== undefined && !isValidName(options.name)) {
    throw new InvalidArgumentError(`container name "${options.name}" is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`)
  }
  return store.withWriteLock(async () => {
    const entries = readContainerIndex(store)
    const taken = (n: string) => entries.some(e => e.names.includes(n))
    if (options.name !== undefined && taken(options.name)) {
      const existing = entries.find(e => e.names.includes(options.name!))!
      throw new NameInUseError(
        `creating container storage: the container name "${options.name}" is already in use by ${existing.id}. You have to remove that container to be able to reuse that name: that name is already in use`,
        {hint: `Remove it (tspod rm -f ${options.name}) or use --replace`},
      )
    }
    let id = generateId()
    while (entries.some(e => e.id === id)) id = generateId()
    const name = options.name ?? generateName(taken)
    let record: ContainerRecord
    try {
      record = await prepare(id, name)
    } catch (err) {
      // Not in the index yet: nothing else can know this directory, so a refused create leaves nothing behind.
      await rm(containerPaths(store, id).dir, {recursive: true, force: true}).catch(() => undefined)
      throw err
    }
    const entry: ContainerIndexEntry = {id, names: [name], image: record.image, created: record.created}
    await writeIndex(store, [...entries, entry])
    return record
  })
}

/**
 * Write a container's record and initial state into its (new) directory,
 * with `extra` files of its (its OCI spec), all synced together, and with
 * the files in `written`, already in place, synced too.
 */
export async function writeNewContainer(store: Store, record: ContainerRecord, extra: Array<{path: string; data: string; mode?: number}> = [], written: string[] = []): Promise<void> {
  const paths = containerPaths(store, record.id)
  mkdirSync(paths.userdata, {recursive: true, mode: 0o700})
  const initial: ContainerState = {status: 'created', restartCount: 0}
  writeFilesAtomicSync([
    ...extra,
    {path: paths.record, data: JSON.stringify(record, null, 1) + '\n'},
    {path: paths.state, data: JSON.stringify(initial, null, 1) + '\n'},
  ], written)
}

/** Drop a container from the index (the commit point of removal); its files go next. */
export async function dropFromIndex(store: Store, id: string): Promise<void> {
  await store.withWriteLock(async () => {
    await writeIndex(store, readContainerIndex(store).filter(e => e.id !== id))
  })
}

export async function renameContainer(store: Store, input: string, newName: string): Promise<void> {
  if (!isValidName(newName)) throw new InvalidArgumentError(`container name "${newName}" is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`)
  await store.withWriteLock(async () => {
    const entries = readContainerIndex(store)
    const entry = lookupContainer(store, input)
    if (entries.some(e => e.names.includes(newName))) throw new NameInUseError(`the container name "${newName}" is already in use`)
    const record = readRecord(store, entry.id)
    record.name = newName
    await writeFileAtomic(containerPaths(store, entry.id).record, JSON.stringify(record, null, 1) + '\n')
    for (const e of entries) if (e.id === entry.id) e.names = [newName]
    await writeIndex(store, entries)
  })
}

/** Directories of containers whose index entry is gone (a killed create or rm): for sweeping. */
export function orphanContainerDirs(store: Store): string[] {
  const known = new Set(readContainerIndex(store).map(e => e.id))
  let names: string[] = []
  try {
    names = readdirSync(join(store.graphRoot, 'containers'))
  } catch {
    return []
  }
  return names.filter(n => /^[a-f0-9]{64}$/.test(n) && !known.has(n)).map(n => join(store.graphRoot, 'containers', n))
}

export async function removeSocketDir(store: Store, id: string): Promise<void> {
  await rm(containerPaths(store, id).socketDir, {recursive: true, force: true})
}

export function containerExists(store: Store, input: string): boolean {
  try {
    return findContainer(store, input) !== undefined && existsSync(containerPaths(store, lookupContainer(store, input).id).record)
  } catch {
    return false
  }
}
