/**
 * How a container becomes part of a pod. At create (`--pod NAME|ID`,
 * `--pod new:NAME`), its options take the pod's: the hostname when the pod
 * shares its uts namespace, the infra container's network settings when it
 * shares the network (ports and networks then belong to the pod alone).
 * At each start, the namespaces the pod shares are set in the container's
 * OCI config to the infra process's `/proc/<pid>/ns/*`: that pid changes
 * whenever the infra restarts, so it is never trusted from create time.
 */
import {readFileSync} from 'node:fs'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import type {CreateOptions} from '../container/create.js'
import {containerPaths, readRecord, type ContainerRecord} from '../container/container-store.js'
import {recordNetwork} from '../network/backend.js'
import type {OciNamespace, OciSpec} from '../runtime/spec.js'
import {serializeSpec} from '../runtime/spec.js'
import {writeFileAtomic} from '../util/atomic.js'
import {createPod, startInfra} from './pods.js'
import {lookupPod, readPod, type PodNamespace, type PodRecord} from './pod-store.js'

const OCI_TYPE: Record<PodNamespace, OciNamespace['type']> = {net: 'network', ipc: 'ipc', uts: 'uts', pid: 'pid'}

const SHARED_NETWORK = 'network cannot be configured when it is shared with a pod'

function sharedNetworkError(what: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid config provided: ${what} must be defined when the pod is created: ${SHARED_NETWORK}`, {hint: 'Give them to tspod pod create, or create the pod without net in --share'})
}

/** `--pod new:NAME` makes the pod, taking the container's ports and network, as Podman does. */
async function podFor(engine: Engine, options: CreateOptions, ref: string): Promise<{pod: PodRecord; options: CreateOptions}> {
  if (!ref.startsWith('new:')) return {pod: lookupPod(engine.store, ref), options}
  const name = ref.slice('new:'.length)
  if (name === '') throw new InvalidArgumentError('--pod new:NAME: the pod needs a name')
  const {pod} = await createPod(engine, {
    name,
    labels: {},
    infra: true,
    publish: options.publish ?? [],
    networkFlag: options.networkFlag,
    userns: options.spec.userns,
    createCommand: options.createCommand,
  })
  return {pod, options: {...options, publish: [], networkFlag: undefined}}
}

/** The create options of a container joining the pod `options.podRef`. */
export async function joinPodOptions(engine: Engine, given: CreateOptions): Promise<CreateOptions> {
  const {pod, options} = await podFor(engine, given, given.podRef!)
  const spec = {...options.spec}
  if (pod.userns !== undefined && spec.userns === undefined) spec.userns = pod.userns
  if (pod.share.includes('uts')) {
    if (spec.hostname !== undefined) throw new InvalidArgumentError('invalid config provided: cannot set hostname when joining the pod UTS namespace', {hint: 'Give --hostname to tspod pod create instead'})
    spec.hostname = pod.hostname
  }
  if (!pod.infraId || !pod.share.includes('net')) return {...options, spec, pod: {id: pod.id}}
  if ((options.publish?.length ?? 0) > 0 || options.publishAll || (options.expose?.length ?? 0) > 0) throw sharedNetworkError('published or exposed ports')
  if ((options.networkFlag && options.networkFlag.kind !== 'default') || (options.networks?.names.length ?? 0) > 0) throw sharedNetworkError('networks')
  const infra = recordNetwork(readRecord(engine.store, pod.infraId))
  // The path is set at every start (see prepareMemberStart); /proc/0 never exists, so a stale one fails loudly.
  const settings = {...infra.settings, mode: 'joined' as const, container: pod.infraId, nsPath: '/proc/0/ns/net', backend: undefined, backendArgs: undefined}
  spec.network = infra.settings.mode === 'none' || infra.settings.mode === 'host' ? infra.settings.mode : 'private'
  return {...options, spec, pod: {id: pod.id, network: {settings, ports: []}}}
}

export interface MemberStart {
  /** The container's exit must run tspod's cleanup, which stops the pod with --exit-policy=stop (see stopPodIfIdle). */
  cleanupOnExit: boolean
}

/** Before a pod member starts: the infra runs, and the config joins its namespaces as they are now. */
export async function prepareMemberStart(engine: Engine, record: ContainerRecord): Promise<MemberStart> {
  let pod: PodRecord
  try {
    pod = readPod(engine.store, record.pod!)
  } catch {
    throw new TspodError(`container ${record.name} belongs to pod ${record.pod}, which no longer exists`, {hint: `Remove the container: tspod rm ${record.name}`})
  }
  const report = {cleanupOnExit: pod.exitPolicy === 'stop' && pod.infraId !== undefined}
  if (!pod.infraId || pod.share.length === 0) return report
  const pid = await startInfra(engine, pod)
  if (!pid) throw new TspodError(`pod ${pod.name}: the infra container is not running`, {hint: `Start the pod: tspod pod start ${pod.name}`})
  const path = `${containerPaths(engine.store, record.id).bundle}/config.json`
  const spec = JSON.parse(readFileSync(path, 'utf8')) as OciSpec
  const namespaces = spec.linux?.namespaces ?? []
  for (const share of pod.share) {
    const type = OCI_TYPE[share]
    const joined: OciNamespace = {type, path: `/proc/${pid}/ns/${share}`}
    const i = namespaces.findIndex(n => n.type === type)
    // --network host or none in the pod: nothing of the container's own to replace.
    if (i >= 0) namespaces[i] = joined
    else if (share !== 'net') namespaces.push(joined)
  }
  // With --userns, the infra's namespaces belong to its own user namespace: only a process inside it may join them.
  const user = namespaces.findIndex(n => n.type === 'user')
  if (user >= 0) namespaces[user] = {type: 'user', path: `/proc/${pid}/ns/user`}
  await writeFileAtomic(path, serializeSpec(spec), 0o600)
  return report
}
