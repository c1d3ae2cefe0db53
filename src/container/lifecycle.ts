/**
 * Starting, stopping, signalling, waiting for and removing containers. The
 * CLI stays outside tspod's user namespace; everything that must happen
 * inside (mounting the rootfs, the OCI runtime, signalling processes of other
 * container uids) is done by the container's monitor, which this module
 * starts and talks to over its attach socket (docs/monitor-protocol.md).
 */
import {existsSync, mkdirSync, readFileSync, rmSync} from 'node:fs'
import {basename, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {RuntimeError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {detectCgroups} from '../engine/host.js'
import {namespacePrefix, runInNamespace} from '../rootless/ns-exec.js'
import {attach, removeAndSignal, sendSignal, startMonitor, type AttachOptions, type MonitorHandle} from '../runtime/monitor-client.js'
import {debug} from '../util/log.js'
import {overlayMountOptions} from './mount.js'
import {monitorForwardArgs, monitorNetworkArgs, recordNetwork} from '../network/backend.js'
import {setupContainerNetworks, teardownContainerNetworks, usesUserNetworks} from '../network/user-networks.js'
import {isLiveProcess, processStartTime} from '../util/lock.js'
import {appendContainerEvent} from '../events/events.js'
import {replaceFile} from '../util/atomic.js'
import {
  containerPaths,
  currentState,
  dropFromIndex,
  isActive,
  orphanContainerDirs,
  readRecord,
  readState,
  runtimeStateDir,
  writeState,
  type ContainerRecord,
  type ContainerState,
} from './container-store.js'

function packageRoot(): string {
  // process.argv[1] is dist/main.cjs: its grandparent is the package root
  const script = process.argv[1] ?? ''
  return join(script, '..', '..')
}

function monitorPath(): string {
  return process.env.TSPOD_HELPER_DIR ? join(process.env.TSPOD_HELPER_DIR, 'tspod-monitor') : join(packageRoot(), 'build', 'tspod-monitor')
}

/**
 * systemd's NOTIFY_SOCKET (a unit with Type=notify running `tspod run -d`):
 * the monitor reports MAINPID, and READY=1 too unless the container is to
 * report it (--sdnotify=container, the default, where the OCI runtime passes
 * the socket into the container). Nobody else inherits the variable.
 */
function notifyOptions(record: ContainerRecord): {env: NodeJS.ProcessEnv; sdnotifySocket?: string; sdnotifyContainer?: boolean} {
  const {NOTIFY_SOCKET: socket, ...env} = process.env
  const mode = record.sdnotify ?? 'container'
  if (!socket || mode === 'ignore') return {env}
  if (mode === 'container') return {env: {...env, NOTIFY_SOCKET: socket}, sdnotifySocket: socket, sdnotifyContainer: true}
  return {env, sdnotifySocket: socket}
}

/** The --cidfile goes with its container (as Podman), so a unit's next `run --cidfile` can write it again. */
function removeCidFile(path: string, id: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === id) rmSync(path, {force: true})
  } catch {
    // Gone already, or not ours to remove.
  }
}

/** A scheduled healthcheck: the monitor runs `tspod healthcheck run ID` every interval. */
async function healthOptions(engine: Engine, record: ContainerRecord): Promise<{healthIntervalMs?: number; healthCommand?: string[]}> {
  const interval = record.healthcheck?.Interval ?? 0
  if (!record.healthcheck?.Test || interval <= 0) return {}
  const base = cleanupCommand(engine, record.id)
  const command = [...base.slice(0, -3), 'healthcheck', 'run', record.id]
  const health = await import('./health.js')
  if (health.systemdUserManagerRuns() && (await health.startHealthTimer(record.id, interval, command))) {
    debug(`healthcheck of ${record.id.slice(0, 12)} scheduled by the systemd timer ${health.healthTimerUnit(record.id)}`)
    return {}
  }
  return {healthIntervalMs: Math.round(interval / 1e6), healthCommand: command}
}

/** The command the monitor runs when the container exits and tspod must act (restart, detached --rm). */
function cleanupCommand(engine: Engine, id: string): string[] {
  return [process.execPath, join(packageRoot(), 'dist', 'main.cjs'), '--root', engine.store.graphRoot, '--runroot', engine.store.runRoot, '--storage-driver', engine.store.driver, 'container', 'cleanup', id]
}

/** vfs: the container's rootfs is a full copy of the image, made inside the namespace on first start. */
async function prepareCopiedRootfs(engine: Engine, record: ContainerRecord): Promise<void> {
  const paths = containerPaths(engine.store, record.id)
  if (existsSync(join(paths.dir, '.rootfs-complete'))) return
  const top = engine.store.layerDiffDir(record.layers[record.layers.length - 1])
  const result = await runInNamespace(engine.store.runRoot, ['sh', '-c', 'cp -a --reflink=auto "$1/." "$2/" && touch "$3"', 'sh', top, paths.rootfs, join(paths.dir, '.rootfs-complete')])
  if (result.code !== 0) throw new TspodError(`copying the image into ${paths.rootfs}: ${result.stderr.trim()}`)
}

export interface StartOptions {
  /** Attach this process's stdio (run without -d, start -a). */
  attach?: AttachOptions
  /** The monitor removes the container's files when it exits (run --rm in the foreground). */
  removeOnExit?: boolean
  /** Called from the previous monitor's exit command: that monitor is done and waits for us. */
  fromCleanup?: boolean
}

export interface LaunchOptions extends Omit<StartOptions, 'attach'> {
  /** The start will attach (finishStart gets AttachOptions): the monitor then leaves --rm's removal to it. */
  attached?: boolean
  /** The container was created just now and never ran: nothing of an earlier run can be left to clear. */
  fresh?: boolean
}

export interface StartedContainer {
  handle: MonitorHandle
  /** Resolves when the monitor has cleaned up, with the container's exit code (attached runs). */
  attached?: Promise<{exitCode: number | undefined}>
}

/** A monitor that is setting a container up and will wait for finishStart's start byte. */
export interface PendingStart {
  engine: Engine
  record: ContainerRecord
  /** Resolves once the runtime has created the container (its first process waits). */
  handle: Promise<MonitorHandle>
  /** Gives up: the monitor deletes the container and cleans up; resolves when it has. */
  abort(): Promise<void>
}

/** Start a container: launchContainer, then finishStart. */
export async function startContainer(engine: Engine, record: ContainerRecord, options: StartOptions = {}): Promise<StartedContainer> {
  const {attach: attachOptions, ...rest} = options
  return finishStart(await launchContainer(engine, record, {...rest, attached: attachOptions !== undefined}), attachOptions)
}

/**
 * The first half of a start: everything up to the monitor, which it starts
 * and does not wait for. The monitor mounts the rootfs, has the runtime
 * create the container and starts its network meanwhile; `run` commits the
 * new container to the index in that time (see createContainer's `launch`).
 */
export async function launchContainer(engine: Engine, record: ContainerRecord, options: LaunchOptions = {}): Promise<PendingStart> {
  const {store} = engine
  const paths = containerPaths(store, record.id)
  if (!options.fresh) {
    // A stop that just returned may leave the monitor finishing its cleanup
    // (runtime delete of this same ID): starting again must wait for it.
    if (!options.fromCleanup && monitorRunning(engine, record.id)) await waitForExit(engine, record.id, {monitor: true, timeoutMs: 10_000})
    const state = currentState(store, record.id)
    if (isActive(state)) throw new TspodError(`container ${record.name} is already running`)
    // A monitor killed with SIGKILL left its rootfs mounted and the runtime's state behind: clear both, or `runtime create` refuses the ID.
    if (!monitorRunning(engine, record.id) && existsSync(join(runtimeStateDir(store), record.id))) {
      debug(`clearing what a killed monitor left of ${record.id.slice(0, 12)}`)
      await runInNamespace(store.runRoot, ['sh', '-c', 'umount -l "$1" 2>/dev/null; "$2" --root "$3" delete --force "$4" >/dev/null 2>&1; true', 'sh', paths.merged, record.runtime.path, runtimeStateDir(store), record.id])
    }
    rmSync(paths.exitFile, {force: true})
    // Each start begins a healthcheck history of its own, in the `starting` state.
    rmSync(join(paths.userdata, 'health.json'), {force: true})
  }
  const podMember = record.pod && !record.infra ? await (await import('../pod/pod-join.js')).prepareMemberStart(engine, record) : undefined
  mkdirSync(paths.socketDir, {recursive: true, mode: 0o700})
  if (record.rootfsKind === 'copy') await prepareCopiedRootfs(engine, record)
  const cgroups = detectCgroups()
  const runtimeArgs: string[] = []
  if (record.runtime.name === 'crun' && engine.rootless && !cgroups.rootlessLimits) runtimeArgs.push('--cgroup-manager=disabled')
  const detachedCleanup = record.restartPolicy.name !== 'no' || (record.autoRemove && !options.attached)
  const prefix = namespacePrefix(store.runRoot)
  // User-defined networks reach out through the shared rootless namespace, not a slirp4netns of their own.
  const userNetworks = usesUserNetworks(store, record.id)
  const networkArgs = userNetworks ? monitorForwardArgs(recordNetwork(record).ports) : monitorNetworkArgs(recordNetwork(record), engine.config.containers.networkCmdPath)
  if (userNetworks) await setupContainerNetworks(engine, record)
  const notify = notifyOptions(record)
  const health = await healthOptions(engine, record)
  debug(`starting the monitor for ${record.id.slice(0, 12)}`)
  const handle = startMonitor({
    nsPrefix: prefix,
    monitorPath: monitorPath(),
    cid: record.id,
    name: record.name,
    runtime: record.runtime.path,
    runtimeRoot: runtimeStateDir(store),
    runtimeArgs,
    bundle: paths.bundle,
    socketDir: paths.socketDir,
    exitFile: paths.exitFile,
    pidFile: paths.pidFile,
    logPath: paths.log,
    logDriver: record.logDriver,
    logMaxSize: record.logMaxSize > 0 ? record.logMaxSize : undefined,
    terminal: record.tty,
    stdin: record.stdin,
    mountOverlay: record.rootfsKind === 'overlay' ? overlayMountOptions(engine, record) : undefined,
    mountTarget: record.rootfsKind === 'overlay' ? paths.merged : undefined,
    rmDirs: options.removeOnExit || (record.autoRemove && !options.attached) ? [paths.dir, paths.socketDir] : [],
    removableDirs: [paths.dir, paths.socketDir],
    ...notify,
    runtimeStartFifo: record.runtime.name === 'crun' && !notify.sdnotifyContainer,
    ...health,
    exitCommand: detachedCleanup || userNetworks || podMember?.cleanupOnExit ? cleanupCommand(engine, record.id) : undefined,
    networkArgs,
  })
  // A caller that fails before finishStart aborts; until then a failure waits here.
  handle.catch(() => {})
  return {
    engine,
    record,
    handle,
    abort: () => handle.then(h => h.abort(), () => {}),
  }
}

/** The second half of a start: record the container as running and let the monitor start it. */
export async function finishStart(pending: PendingStart, attachOptions?: AttachOptions): Promise<StartedContainer> {
  const {engine, record} = pending
  const {store} = engine
  const paths = containerPaths(store, record.id)
  const handle = await pending.handle
  debug(`container process ${handle.pid}, monitor ${handle.monitorPid}`)
  let attached: Promise<{exitCode: number | undefined}> | undefined
  try {
    if (attachOptions) {
      attached = attach(paths.attach, attachOptions)
      debug('attached to the monitor\'s socket')
    }
    const running: ContainerState = {
      ...readState(store, record.id),
      status: 'running',
      pid: handle.pid,
      pidStart: processStartTime(handle.pid),
      monitorPid: handle.monitorPid,
      monitorStart: processStartTime(handle.monitorPid),
      startedAt: new Date().toISOString(),
      stoppedByUser: false,
      exitCode: undefined,
      finishedAt: undefined,
      error: undefined,
    }
    await writeState(store, record.id, running, {durable: false})
    // For units that run `tspod start` with Type=forking: the process systemd watches.
    await replaceFile(join(paths.userdata, 'monitor.pid'), `${handle.monitorPid}\n`)
    await handle.start()
    debug('runtime start done: the container runs')
    appendContainerEvent(store.runRoot, record, 'start')
  } catch (err) {
    await handle.abort().catch(() => {})
    await writeState(store, record.id, {...readState(store, record.id), status: 'exited', exitCode: 125, error: (err as Error).message})
    throw err
  }
  return {handle, attached}
}

/**
 * Wait until the container has exited (its exit file is written) or the
 * timeout passes; with `monitor`, also until its monitor has finished its
 * cleanup (runtime delete, unmount), which starting it again needs. Polling
 * the exit file also works when the monitor is gone.
 */
export async function waitForExit(engine: Engine, id: string, options: {timeoutMs?: number; monitor?: boolean} = {}): Promise<ContainerState> {
  const start = Date.now()
  const deadline = start + (options.timeoutMs ?? Infinity)
  let delay = 1
  for (;;) {
    const state = currentState(engine.store, id)
    const monitorAlive = options.monitor === true && state.monitorStart !== undefined && isLiveProcess(state.monitorPid, state.monitorStart)
    if (!isActive(state) && !monitorAlive) return state
    if (Date.now() >= deadline) return state
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())))
    // A killed container is usually gone within a few ms: poll every ms at
    // first (a check is one failed open), then back off.
    if (Date.now() - start > 30) delay = Math.min(delay * 2, 25)
  }
}

/** Whether the container's monitor is still running (it may be cleaning up after the exit). */
export function monitorRunning(engine: Engine, id: string): boolean {
  const state = readState(engine.store, id)
  return state.monitorStart !== undefined && isLiveProcess(state.monitorPid, state.monitorStart)
}

/** Deliver a signal to the container's init process through its monitor (or the runtime when the monitor is gone). */
export async function signalContainer(engine: Engine, record: ContainerRecord, signal: number): Promise<void> {
  const paths = containerPaths(engine.store, record.id)
  try {
    await sendSignal(paths.attach, signal)
    return
  } catch (err) {
    debug(`signal through the monitor failed (${(err as Error).message}); using the runtime`)
  }
  const result = await runInNamespace(engine.store.runRoot, [record.runtime.path, '--root', runtimeStateDir(engine.store), 'kill', record.id, String(signal)])
  // A container that exited meanwhile took its monitor's socket and the
  // runtime's state with it: there is nothing left to signal, which is no error.
  const state = readState(engine.store, record.id)
  if (result.code !== 0 && !isLiveProcess(state.pid, state.pidStart)) {
    debug(`${record.name} exited before signal ${signal} reached it`)
    return
  }
  if (result.code !== 0) throw new RuntimeError(`sending signal ${signal} to ${record.name}: ${result.stderr.trim().split('\n').pop()}`)
}

export async function stopContainer(engine: Engine, id: string, timeoutSeconds?: number, options: {waitForMonitor?: boolean} = {}): Promise<ContainerState> {
  const record = readRecord(engine.store, id)
  let state = currentState(engine.store, id)
  if (!isActive(state)) return state
  await writeState(engine.store, id, {...readState(engine.store, id), status: 'stopping', stoppedByUser: true})
  const timeout = (timeoutSeconds ?? record.stopTimeout) * 1000
  if (timeout > 0) {
    await signalContainer(engine, record, record.stopSignal)
    state = await waitForExit(engine, id, {timeoutMs: timeout, monitor: options.waitForMonitor})
    if (!isActive(state)) {
      appendContainerEvent(engine.store.runRoot, record, 'stop')
      return state
    }
    process.stderr.write(`WARN[0000] StopSignal ${record.stopSignal === 15 ? 'SIGTERM' : record.stopSignal} failed to stop container ${record.name} in ${timeout / 1000} seconds, resorting to SIGKILL\n`)
  }
  await signalContainer(engine, record, 9).catch(() => {})
  debug(`SIGKILL sent to ${record.name}; waiting for its monitor`)
  const final = await waitForExit(engine, id, {monitor: options.waitForMonitor})
  debug(`${record.name} stopped`)
  appendContainerEvent(engine.store.runRoot, record, 'stop')
  return final
}

/** Remove a container: it must not be running unless `force`, which kills it first. */
export async function removeContainer(engine: Engine, id: string, options: {force?: boolean; timeoutSeconds?: number; withPod?: boolean} = {}): Promise<void> {
  const {store} = engine
  let record: ContainerRecord | undefined
  try {
    record = readRecord(store, id)
  } catch {
    record = undefined
  }
  if (record?.infra && !options.withPod) {
    throw new TspodError(`container ${id} is the infra container of pod ${record.pod} and cannot be removed without removing the pod`, {hint: `Remove the pod: tspod pod rm -f ${record.pod?.slice(0, 12)}`})
  }
  const state = currentState(store, id)
  if (record && isActive(state)) {
    if (!options.force) {
      throw new TspodError(`cannot remove container ${id} as it is ${state.status} - running or paused containers cannot be removed without force: container state improper`, {hint: `Stop it first (tspod stop ${record.name}) or use rm -f`})
    }
    if (!options.timeoutSeconds && monitorRunning(engine, id)) {
      // The monitor kills the container and removes its files after its own
      // cleanup: once the container is dead, it is gone from tspod's view.
      try {
        await writeState(store, id, {...readState(store, id), status: 'stopping', stoppedByUser: true}, {durable: false})
        await removeAndSignal(containerPaths(store, id).attach, 9)
        await waitForExit(engine, id)
        await dropFromIndex(store, id)
        appendContainerEvent(store.runRoot, record, 'remove')
        return
      } catch (err) {
        debug(`removal through the monitor failed (${(err as Error).message}); removing directly`)
      }
    }
    await stopContainer(engine, id, options.timeoutSeconds ?? 0)
  }
  await dropFromIndex(store, id)
  debug(`removing the files of ${id.slice(0, 12)}`)
  await removeContainerFiles(engine, id, record)
  debug(`files of ${id.slice(0, 12)} removed`)
  if (record) appendContainerEvent(store.runRoot, record, 'remove')
  if (record?.cidFile) removeCidFile(record.cidFile, id)
}

/**
 * Delete a container's files. They include files owned by subordinate ids
 * (the upper layer), so deletion runs inside the namespace; a mount or
 * runtime state left by a monitor that was killed is cleaned up first.
 */
export async function removeContainerFiles(engine: Engine, id: string, record?: ContainerRecord): Promise<void> {
  const {store} = engine
  await teardownContainerNetworks(engine, id)
  const paths = containerPaths(store, id)
  if (!existsSync(paths.dir) && !existsSync(paths.socketDir)) return
  const script = [
    'umount -l "$1" 2>/dev/null',
    '[ -n "$4" ] && "$4" --root "$5" delete --force "$6" >/dev/null 2>&1',
    'rm -rf "$2" "$3"',
  ].join('; ')
  // A monitor still finishing its cleanup runs `runtime delete` itself.
  const runtime = record && !monitorRunning(engine, id) ? record.runtime.path : ''
  const result = await runInNamespace(store.runRoot, ['sh', '-c', script, 'sh', paths.merged, paths.dir, paths.socketDir, runtime, runtimeStateDir(store), id])
  if (result.code !== 0 && existsSync(paths.dir)) {
    throw new TspodError(`removing the files of container ${id}: ${result.stderr.trim()}`, {hint: `Try: tspod unshare rm -rf ${paths.dir}`})
  }
}

/**
 * Files of containers whose index entry is gone (a create or rm killed
 * midway). Creates prepare their directory while holding the store lock, so
 * under the lock a directory without an entry is certainly an orphan.
 */
export async function sweepOrphanContainers(engine: Engine): Promise<void> {
  // A live monitor removes its container's files itself (`rm -f` hands the
  // removal to it and returns once the container is dead): not an orphan.
  const orphans = () => orphanContainerDirs(engine.store).filter(dir => !monitorRunning(engine, basename(dir)))
  if (orphans().length === 0) return
  await engine.store.withWriteLock(async () => {
    for (const dir of orphans()) await removeContainerFiles(engine, basename(dir))
  })
}
