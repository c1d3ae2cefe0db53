/**
 * Pod use cases: create (with its infra container), start, stop, restart,
 * kill, pause, unpause, remove, prune. A pod is a record and a group of
 * containers; its infra container is an ordinary container (see
 * infra-image.ts) whose namespaces the others join when they start
 * (pod-join.ts). Ports published by a pod are the infra container's.
 */
import {existsSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {createContainer} from '../container/create.js'
import {currentState, isActive, readRecord, readState, writeState, type ContainerRecord, type ContainerState} from '../container/container-store.js'
import {removeContainer, signalContainer, startContainer, stopContainer} from '../container/lifecycle.js'
import {pauseContainer, pauseUnsupportedReason, unpauseContainer} from '../container/pause.js'
import type {NetworkFlag} from '../network/backend.js'
import type {NetworkRequest} from '../network/user-networks.js'
import type {PortMapping} from '../network/ports.js'
import {appendEvent} from '../events/events.js'
import {writeFileAtomic} from '../util/atomic.js'
import {debug} from '../util/log.js'
import {ensureInfraImage} from './infra-image.js'
import {DEFAULT_SHARE, addPod, dropPod, findPod, podContainers, readPod, readPodIndex, writePod, type PodNamespace, type PodRecord} from './pod-store.js'

const SHAREABLE = ['cgroup', 'ipc', 'net', 'pid', 'uts']

/**
 * `--share`: a comma-separated list, `none`, or `+list` to add to the
 * default (net, ipc, uts). Podman also names cgroup; rootless cgroup v1 has
 * no cgroup namespace to share, so it is accepted and has no effect.
 */
export function parseShare(value: string | undefined): PodNamespace[] {
  if (value === undefined) return [...DEFAULT_SHARE]
  const add = value.startsWith('+')
  const words = (add ? value.slice(1) : value).split(',').map(w => w.trim()).filter(w => w !== '')
  const out: PodNamespace[] = add ? [...DEFAULT_SHARE] : []
  for (const word of words) {
    if (word === 'none' && !add) continue
    if (!SHAREABLE.includes(word)) {
      throw new InvalidArgumentError(`invalid kernel namespace to share: ${word}: options are cgroup, ipc, net, pid, uts or none`)
    }
    if (word !== 'cgroup' && !out.includes(word as PodNamespace)) out.push(word as PodNamespace)
  }
  return out
}

export interface PodCreateOptions {
  name?: string
  hostname?: string
  labels: Record<string, string>
  /** --share as typed. */
  share?: string
  infra: boolean
  infraName?: string
  publish: PortMapping[]
  networkFlag?: NetworkFlag
  /** User-defined networks the infra container joins (pod create --network NAME), and with it the members sharing its network. */
  networks?: NetworkRequest
  dns?: string[]
  addHosts?: string[]
  replace?: boolean
  userns?: string
  exitPolicy?: string
  infraMonitorPidFile?: string
  podIdFile?: string
  createCommand: string[]
}

export interface PodReport {
  pod: PodRecord
  warnings: string[]
}

function networkKind(flag: NetworkFlag | undefined): 'none' | 'host' | 'private' {
  return flag?.kind === 'none' || flag?.kind === 'host' ? flag.kind : 'private'
}

export async function createPod(engine: Engine, options: PodCreateOptions): Promise<PodReport> {
  const {store} = engine
  if (options.podIdFile && existsSync(options.podIdFile)) {
    throw new InvalidArgumentError(`writing the pod ID to ${options.podIdFile}: file exists`, {hint: 'The --pod-id-file must not exist yet'})
  }
  const exitPolicy = options.exitPolicy ?? 'continue'
  if (exitPolicy !== 'continue' && exitPolicy !== 'stop') {
    throw new InvalidArgumentError(`invalid pod exit policy "${exitPolicy}": use continue or stop`)
  }
  const share = options.infra ? parseShare(options.share) : []
  if (!options.infra) {
    if (options.publish.length > 0) throw new InvalidArgumentError('you must have an infra container to publish port bindings to the host', {hint: 'Drop --infra=false, or publish the ports on a container with tspod run -p'})
    if ((options.networkFlag && options.networkFlag.kind !== 'default') || options.networks) throw new InvalidArgumentError('cannot set a network for a pod without an infra container', {hint: 'Drop --infra=false, or give --network to each container'})
    if (options.share !== undefined && parseShare(options.share).length > 0) throw new InvalidArgumentError('cannot share namespaces in a pod without an infra container', {hint: 'Drop --infra=false, or --share none'})
  } else if (!share.includes('net') && (options.publish.length > 0 || options.networks || (options.networkFlag && options.networkFlag.kind !== 'default'))) {
    throw new InvalidArgumentError('the pod\'s network settings need the network namespace to be shared', {hint: 'Add net to --share, or give -p/--network to each container'})
  }
  if (options.hostname && !share.includes('uts') && options.infra) {
    throw new InvalidArgumentError('--hostname needs the pod to share the uts namespace', {hint: 'Add uts to --share, or give --hostname to each container'})
  }
  if (options.replace && options.name) {
    const existing = findPod(store, options.name)
    if (existing) await removePod(engine, readPod(store, existing.id), {force: true})
  }
  const pod = await addPod(store, options.name, (id, name) => ({
    id,
    name,
    created: new Date().toISOString(),
    hostname: options.hostname ?? name,
    labels: options.labels,
    share,
    exitPolicy,
    userns: options.userns,
    infraMonitorPidFile: options.infraMonitorPidFile,
    createCommand: options.createCommand,
  }))
  const warnings: string[] = []
  if (options.infra) {
    try {
      const image = await ensureInfraImage(engine)
      const report = await createContainer(engine, {
        image,
        name: options.infraName ?? `${pod.id.slice(0, 12)}-infra`,
        replace: false,
        pull: 'never',
        rm: false,
        logDriver: 'k8s-file',
        logOpts: [],
        dns: options.dns ?? [],
        addHosts: options.addHosts ?? [],
        networkFlag: options.networkFlag,
        // The pod's name resolves to it on its networks, as Podman names the infra container.
        networks: options.networks && {...options.networks, aliases: [...(options.networks.aliases ?? []), pod.name]},
        publish: options.publish,
        // Started under a Type=notify unit (run --pod new:NAME), the infra must not wait to send READY=1 itself: that is a member's or the monitor's job.
        sdnotify: 'ignore',
        createCommand: options.createCommand,
        pod: {id: pod.id, infra: true},
        spec: {
          env: [], envFiles: [], envHost: false, groupAdd: [], hostname: pod.hostname, tty: false, stdin: false, readOnly: false,
          capAdd: [], capDrop: [], privileged: false, securityOpt: [], userns: options.userns, ulimits: [], tmpfs: [], volumes: [],
          mounts: [], devices: [], init: false, network: networkKind(options.networkFlag), annotations: {}, labels: {},
        },
      })
      warnings.push(...report.warnings)
      pod.infraId = report.record.id
      await writePod(store, pod)
    } catch (err) {
      await dropPod(store, pod.id).catch(() => {})
      throw err
    }
  }
  if (options.podIdFile) await writeFile(options.podIdFile, pod.id, {flag: 'wx'})
  appendEvent(store.runRoot, {ID: pod.id, Name: pod.name, Status: 'create', Type: 'pod'})
  return {pod, warnings}
}

function infraRecord(engine: Engine, pod: PodRecord): ContainerRecord | undefined {
  if (!pod.infraId) return undefined
  try {
    return readRecord(engine.store, pod.infraId)
  } catch {
    return undefined
  }
}

/** Start the infra container unless it runs; returns its pid. */
export async function startInfra(engine: Engine, pod: PodRecord): Promise<number | undefined> {
  const infra = infraRecord(engine, pod)
  if (!infra) return undefined
  let state = currentState(engine.store, infra.id)
  if (!isActive(state)) {
    debug(`starting the infra container of pod ${pod.name}`)
    const started = await startContainer(engine, infra)
    if (pod.infraMonitorPidFile) await writeFileAtomic(pod.infraMonitorPidFile, `${started.handle.monitorPid}\n`)
    state = currentState(engine.store, infra.id)
  }
  return state.pid
}

/**
 * --exit-policy=stop: when the last of a pod's containers has exited, the
 * infra container stops too. Run from a member's cleanup after its exit.
 */
export async function stopPodIfIdle(engine: Engine, podId: string): Promise<void> {
  let pod: PodRecord
  try {
    pod = readPod(engine.store, podId)
  } catch {
    return
  }
  if (pod.exitPolicy !== 'stop' || !pod.infraId) return
  const members = podContainers(engine.store, pod.id).filter(r => !r.infra)
  if (members.some(r => isActive(currentState(engine.store, r.id)))) return
  debug(`pod ${pod.name}: its last container exited and its exit policy is stop`)
  await stopContainer(engine, pod.infraId)
}

/** Per container, what went wrong; an empty list means every container did what was asked. */
export type PodErrors = Array<{id: string; name: string; error: Error}>

async function eachMember(members: ContainerRecord[], act: (record: ContainerRecord) => Promise<void>): Promise<PodErrors> {
  const errors: PodErrors = []
  await Promise.all(members.map(async record => {
    try {
      await act(record)
    } catch (err) {
      errors.push({id: record.id, name: record.name, error: err as Error})
    }
  }))
  return errors
}

export function podErrorsToError(what: string, pod: PodRecord, errors: PodErrors): TspodError | undefined {
  if (errors.length === 0) return undefined
  const causes = errors.map(e => `${e.name}: ${e.error.message}`).join('; ')
  return new TspodError(`${what} containers of pod ${pod.name}: ${causes}`)
}

export async function startPod(engine: Engine, pod: PodRecord): Promise<PodErrors> {
  try {
    await startInfra(engine, pod)
  } catch (err) {
    return [{id: pod.infraId ?? '', name: 'infra', error: err as Error}]
  }
  const members = podContainers(engine.store, pod.id).filter(r => !r.infra && !isActive(currentState(engine.store, r.id)))
  const errors = await eachMember(members, async record => {
    await startContainer(engine, record)
  })
  appendEvent(engine.store.runRoot, {ID: pod.id, Name: pod.name, Status: 'start', Type: 'pod'})
  return errors
}

/** Members first, then the infra container; each monitor has finished its cleanup when this returns. */
export async function stopPod(engine: Engine, pod: PodRecord, timeoutSeconds?: number): Promise<PodErrors> {
  const all = podContainers(engine.store, pod.id)
  const stop = (r: ContainerRecord) => stopContainer(engine, r.id, timeoutSeconds, {waitForMonitor: true}).then(() => undefined)
  const errors = await eachMember(all.filter(r => !r.infra), stop)
  errors.push(...(await eachMember(all.filter(r => r.infra), stop)))
  appendEvent(engine.store.runRoot, {ID: pod.id, Name: pod.name, Status: 'stop', Type: 'pod'})
  return errors
}

export async function restartPod(engine: Engine, pod: PodRecord, timeoutSeconds?: number): Promise<PodErrors> {
  const stopped = await stopPod(engine, pod, timeoutSeconds)
  if (stopped.length > 0) return stopped
  return startPod(engine, pod)
}

export async function killPod(engine: Engine, pod: PodRecord, signal: number): Promise<PodErrors> {
  const running = podContainers(engine.store, pod.id).filter(r => isActive(currentState(engine.store, r.id)))
  if (running.length === 0) throw new TspodError(`pod ${pod.name} has no running containers to kill`, {hint: `Start it first: tspod pod start ${pod.name}`})
  const errors = await eachMember(running, async record => {
    if (signal === 9 || signal === 15) await writeState(engine.store, record.id, {...readState(engine.store, record.id), stoppedByUser: true})
    await signalContainer(engine, record, signal)
  })
  appendEvent(engine.store.runRoot, {ID: pod.id, Name: pod.name, Status: 'kill', Type: 'pod'})
  return errors
}

export async function pausePod(engine: Engine, pod: PodRecord, pause: boolean): Promise<PodErrors> {
  const reason = pauseUnsupportedReason(engine)
  // Said once for the pod rather than once per container.
  if (reason && pause) throw new TspodError(`cannot pause pod ${pod.name}: its containers have no cgroup whose freezer could stop them (${reason})`, {hint: `Here, stop and start the pod instead (tspod pod stop ${pod.name})`})
  const wanted = pause ? 'running' : 'paused'
  const members = podContainers(engine.store, pod.id).filter(r => currentState(engine.store, r.id).status === wanted)
  const errors = await eachMember(members, record => (pause ? pauseContainer(engine, record) : unpauseContainer(engine, record)))
  appendEvent(engine.store.runRoot, {ID: pod.id, Name: pod.name, Status: pause ? 'pause' : 'unpause', Type: 'pod'})
  return errors
}

export interface RemovePodOptions {
  force?: boolean
  timeoutSeconds?: number
}

/**
 * Remove a pod with its containers (members first, the infra last). Without
 * force, a pod with a running container is refused before anything goes.
 */
export async function removePod(engine: Engine, pod: PodRecord, options: RemovePodOptions = {}): Promise<void> {
  const members = podContainers(engine.store, pod.id)
  const running = members.filter(r => isActive(currentState(engine.store, r.id)))
  if (running.length > 0 && !options.force) {
    throw new TspodError(`pod ${pod.id} has running containers (${running.map(r => r.name).join(', ')}): cannot remove a pod with running containers without force`, {
      exitCode: 2,
      hint: `Stop it first (tspod pod stop ${pod.name}) or use tspod pod rm -f ${pod.name}`,
    })
  }
  const remove = (r: ContainerRecord) => removeContainer(engine, r.id, {force: true, timeoutSeconds: options.timeoutSeconds, withPod: true})
  const errors = await eachMember(members.filter(r => !r.infra), remove)
  errors.push(...(await eachMember(members.filter(r => r.infra), remove)))
  const error = podErrorsToError('removing', pod, errors)
  if (error) throw error
  await dropPod(engine.store, pod.id)
  appendEvent(engine.store.runRoot, {ID: pod.id, Name: pod.name, Status: 'remove', Type: 'pod'})
}

/** Remove every pod none of whose containers runs; returns their ids. */
export async function prunePods(engine: Engine): Promise<string[]> {
  const removed: string[] = []
  for (const entry of readPodIndex(engine.store)) {
    let pod: PodRecord
    try {
      pod = readPod(engine.store, entry.id)
    } catch {
      continue
    }
    if (podContainers(engine.store, pod.id).some(r => isActive(currentState(engine.store, r.id)))) continue
    await removePod(engine, pod)
    removed.push(pod.id)
  }
  return removed
}

/** Podman's pod states, from its containers' (infra included). */
export function podStatus(states: ContainerState[]): 'Created' | 'Running' | 'Degraded' | 'Paused' | 'Exited' | 'Stopped' {
  if (states.length === 0) return 'Created'
  const count = (f: (s: ContainerState) => boolean) => states.filter(f).length
  const running = count(s => s.status === 'running' || s.status === 'stopping')
  const paused = count(s => s.status === 'paused')
  const exited = count(s => s.status === 'exited')
  if (running > 0) return running === states.length ? 'Running' : 'Degraded'
  if (paused === states.length) return 'Paused'
  if (paused > 0) return 'Degraded'
  if (exited === states.length) return 'Exited'
  if (exited > 0) return 'Stopped'
  return 'Created'
}
