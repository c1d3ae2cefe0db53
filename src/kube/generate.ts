/**
 * `tspod kube generate`: containers, pods and volumes as Kubernetes YAML.
 * Loose containers become one Pod (named `<first container>-pod`, as
 * Podman names it); each pod becomes a Pod; a volume becomes a
 * PersistentVolumeClaim. What the container was given explicitly is
 * written; what it inherits from its image (entrypoint, command,
 * environment) is left to the image, so the YAML stays short and portable.
 */
import {statSync} from 'node:fs'
import {stringify} from 'yaml'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {findContainer, readRecord, type ContainerRecord, type RestartPolicy} from '../container/container-store.js'
import {parseSize} from '../container/create.js'
import {readVolume, type VolumeRecord} from '../container/volumes.js'
import {readConfig} from '../image/images.js'
import type {ContainerConfig} from '../image/oci.js'
import {recordedMappings, type PortMapping} from '../network/ports.js'
import {findPod, podContainers, readPod, type PodRecord} from '../pod/pod-store.js'
import {formatCpu, formatMemory, parseQuantity} from './quantity.js'
import type {KubeContainer, KubeObject, KubePodSpec, KubeVolume, KubeVolumeMount, ObjectMeta, WorkloadKind} from './types.js'

export interface KubeGenerateOptions {
  type: WorkloadKind
  /** Deployments only. */
  replicas?: number
  service: boolean
  version: string
}

/** One Pod to write: its containers with the config of each one's image. */
export interface KubeGroup {
  name: string
  /** Set when the pod's hostname was chosen, not derived from its name. */
  hostname?: string
  labels: Record<string, string>
  created: string
  /** The infra container's published ports, for a pod sharing its network. */
  podPorts: PortMapping[]
  /** The prefix tspod puts before a member's name (`<pod>-`), dropped in the YAML. */
  memberPrefix?: string
  containers: Array<{record: ContainerRecord; image: ContainerConfig}>
}

export interface KubeReport {
  objects: KubeObject[]
  warnings: string[]
}

// A DNS-1123 label: what Kubernetes accepts as a pod, container or volume name.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
// Set by tspod itself in every container's environment unless the user gives them.
// PATH is not among them: an image without one runs on tspod's default, which
// Podman's kube play does not supply, so the YAML must carry it.
const RUNTIME_ENV = new Set(['container', 'HOSTNAME', 'TERM', 'HOME'])

/** Lowercase, with runs of anything else turned into one dash, at most 63 characters. */
export function toDnsLabel(name: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '')
  return label === '' ? 'x' : label
}

function sameList(a: string[] | null | undefined, b: string[] | null | undefined): boolean {
  const x = a ?? []
  const y = b ?? []
  return x.length === y.length && x.every((v, i) => v === y[i])
}

function optionList(record: ContainerRecord, key: string): string[] {
  const v = record.options[key]
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []
}

function optionString(record: ContainerRecord, key: string): string | undefined {
  const v = record.options[key]
  return typeof v === 'string' && v !== '' ? v : undefined
}

function restartPolicyOf(policy: RestartPolicy): 'Always' | 'OnFailure' | 'Never' {
  if (policy.name === 'always' || policy.name === 'unless-stopped') return 'Always'
  return policy.name === 'on-failure' ? 'OnFailure' : 'Never'
}

/**
 * Kubernetes semantics: `command` replaces the image's entrypoint and then
 * the image's CMD is dropped; `args` alone replaces only the CMD.
 */
function commandOf(record: ContainerRecord, image: ContainerConfig): Pick<KubeContainer, 'command' | 'args'> {
  if (!sameList(record.entrypoint, image.Entrypoint)) {
    if (record.entrypoint.length === 0) return record.cmd.length > 0 ? {command: record.cmd} : {command: []}
    return {command: record.entrypoint, ...(record.cmd.length > 0 ? {args: record.cmd} : {})}
  }
  return sameList(record.cmd, image.Cmd) ? {} : {args: record.cmd}
}

function envOf(record: ContainerRecord, image: ContainerConfig): KubeContainer['env'] {
  const inherited = new Set(image.Env ?? [])
  const given = new Set(optionList(record, 'env').map(e => e.split('=')[0]))
  const env: NonNullable<KubeContainer['env']> = []
  for (const entry of record.env) {
    const i = entry.indexOf('=')
    const name = i < 0 ? entry : entry.slice(0, i)
    if (inherited.has(entry) || (RUNTIME_ENV.has(name) && !given.has(name))) continue
    env.push({name, value: i < 0 ? '' : entry.slice(i + 1)})
  }
  return env.length > 0 ? env : undefined
}

function portsOf(mappings: PortMapping[]): KubeContainer['ports'] {
  if (mappings.length === 0) return undefined
  return mappings.map(m => ({
    containerPort: m.containerPort,
    ...(m.hostPort > 0 ? {hostPort: m.hostPort} : {}),
    ...(m.hostIp !== '' ? {hostIP: m.hostIp} : {}),
    ...(m.protocol === 'udp' ? {protocol: 'UDP' as const} : {}),
  }))
}

/** Volumes of one pod, shared by its containers: the same source is one volume. */
class PodVolumes {
  readonly volumes: KubeVolume[] = []
  private readonly byKey = new Map<string, string>()

  /** A DNS label of `stem` with `-suffix` kept whole, made unique within the pod. */
  add(key: string, stem: string, suffix: string, volume: Omit<KubeVolume, 'name'>): string {
    const known = this.byKey.get(key)
    if (known) return known
    const fit = (room: number) => toDnsLabel(stem).slice(0, room).replace(/-+$/, '')
    let name = `${fit(62 - suffix.length)}-${suffix}`
    const taken = new Set(this.volumes.map(v => v.name))
    for (let i = 1; taken.has(name); i++) name = `${fit(60 - suffix.length - String(i).length)}-${suffix}-${i}`
    this.byKey.set(key, name)
    this.volumes.push({name, ...volume})
    return name
  }

  hostPath(source: string): string {
    let type: string | undefined
    try {
      type = statSync(source).isDirectory() ? 'Directory' : 'File'
    } catch {
      type = undefined
    }
    return this.add(`host:${source}`, source, 'host', {hostPath: {path: source, ...(type ? {type} : {})}})
  }

  claim(name: string): string {
    return this.add(`pvc:${name}`, name, 'pvc', {persistentVolumeClaim: {claimName: name}})
  }

  memory(destination: string, container: string): string {
    return this.add(`tmpfs:${container}:${destination}`, destination, 'tmpfs', {emptyDir: {medium: 'Memory'}})
  }

  empty(destination: string, container: string): string {
    return this.add(`empty:${container}:${destination}`, destination, 'empty', {emptyDir: {}})
  }
}

function mountFields(spec: string): Record<string, string> {
  return Object.fromEntries(spec.split(',').map(kv => {
    const i = kv.indexOf('=')
    return i === -1 ? [kv, 'true'] : [kv.slice(0, i), kv.slice(i + 1)]
  }))
}

function mountsOf(record: ContainerRecord, volumes: PodVolumes, warnings: string[]): KubeVolumeMount[] {
  const mounts: KubeVolumeMount[] = []
  const push = (name: string, mountPath: string, readOnly: boolean) => mounts.push({name, mountPath, ...(readOnly ? {readOnly: true} : {})})
  for (const v of optionList(record, 'volumes')) {
    const [source, destination, opts = ''] = v.split(':')
    const readOnly = opts.split(',').includes('ro')
    if (destination === undefined) {
      push(volumes.empty(source, record.name), source, false)
    } else if (source.startsWith('/') || source.startsWith('.')) {
      push(volumes.hostPath(source), destination, readOnly)
    } else {
      push(volumes.claim(source), destination, readOnly)
    }
  }
  for (const m of optionList(record, 'mounts')) {
    const f = mountFields(m)
    const destination = f.destination ?? f.dst ?? f.target
    const source = f.source ?? f.src
    const readOnly = f.ro === 'true' || f.readonly === 'true'
    if (!destination) continue
    if (f.type === 'bind' && source) push(volumes.hostPath(source), destination, readOnly)
    else if (f.type === 'volume' && source) push(volumes.claim(source), destination, readOnly)
    else if (f.type === 'volume') push(volumes.empty(destination, record.name), destination, readOnly)
    else if (f.type === 'tmpfs') push(volumes.memory(destination, record.name), destination, false)
    else warnings.push(`container ${record.name}: --mount ${m} has no Kubernetes equivalent and is left out`)
  }
  for (const t of optionList(record, 'tmpfs')) {
    const destination = t.split(':')[0]
    push(volumes.memory(destination, record.name), destination, false)
  }
  return mounts
}

function securityOf(record: ContainerRecord, warnings: string[]): KubeContainer['securityContext'] {
  const strip = (caps: string[]) => caps.map(c => c.toUpperCase().replace(/^CAP_/, ''))
  const add = strip(optionList(record, 'capAdd'))
  const drop = strip(optionList(record, 'capDrop'))
  const context: NonNullable<KubeContainer['securityContext']> = {}
  if (add.length > 0 || drop.length > 0) context.capabilities = {...(add.length > 0 ? {add} : {}), ...(drop.length > 0 ? {drop} : {})}
  if (record.options.privileged === true) context.privileged = true
  if (record.options.readOnly === true) context.readOnlyRootFilesystem = true
  const user = optionString(record, 'user')
  if (user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(user)
    if (m) {
      context.runAsUser = Number(m[1])
      if (m[2] !== undefined) context.runAsGroup = Number(m[2])
    } else {
      warnings.push(`container ${record.name}: user "${user}" is a name; Kubernetes takes numeric ids only (runAsUser), so the image's user is left in force`)
    }
  }
  return Object.keys(context).length > 0 ? context : undefined
}

function resourcesOf(record: ContainerRecord): KubeContainer['resources'] {
  const limits: Record<string, string> = {}
  const memory = optionString(record, 'memory')
  if (memory !== undefined) limits.memory = formatMemory(parseSize(memory, 'memory limit'))
  const cpus = optionString(record, 'cpus')
  if (cpus !== undefined) limits.cpu = formatCpu(parseQuantity(cpus, 'cpus'))
  return Object.keys(limits).length > 0 ? {limits} : undefined
}

function containerOf(group: KubeGroup, member: KubeGroup['containers'][number], volumes: PodVolumes, ports: PortMapping[], warnings: string[]): KubeContainer {
  const {record, image} = member
  const prefix = group.memberPrefix
  const short = prefix && record.name.startsWith(prefix) && record.name.length > prefix.length ? record.name.slice(prefix.length) : record.name
  const name = toDnsLabel(short)
  const mounts = mountsOf(record, volumes, warnings)
  const workdir = optionString(record, 'workdir')
  const container: KubeContainer = {
    name,
    image: record.imageName,
    ...commandOf(record, image),
    ...(workdir !== undefined ? {workingDir: workdir} : {}),
    env: envOf(record, image),
    ports: portsOf(ports),
    volumeMounts: mounts.length > 0 ? mounts : undefined,
    securityContext: securityOf(record, warnings),
    resources: resourcesOf(record),
    ...(record.stdin ? {stdin: true} : {}),
    ...(record.tty ? {tty: true} : {}),
  }
  // Fields left undefined must not reach the YAML as nulls.
  return JSON.parse(JSON.stringify(container)) as KubeContainer
}

function splitLabels(source: Record<string, string>, where: string, labels: Record<string, string>, warnings: string[]): void {
  for (const [k, v] of Object.entries(source)) {
    if (LABEL_VALUE.test(v) && v.length <= 63) labels[k] = v
    else warnings.push(`${where}: label ${k} is left out: its value is not a valid Kubernetes label value (at most 63 letters, digits, '-', '_' or '.')`)
  }
}

/** The Pod (or its template) for one group. */
export function buildPod(group: KubeGroup, options: Pick<KubeGenerateOptions, 'type'>, warnings: string[]): {metadata: ObjectMeta; spec: KubePodSpec} {
  const name = toDnsLabel(group.name)
  const volumes = new PodVolumes()
  const labels: Record<string, string> = {app: name}
  splitLabels(group.labels, `pod ${group.name}`, labels, warnings)
  const annotations: Record<string, string> = {}
  const containers = group.containers.map((member, i) => {
    const {record} = member
    const own = recordedMappings(record.options.publish)
    // A pod's ports belong to its infra container: Kubernetes puts them on a container, so the first one carries them.
    const ports = i === 0 ? [...group.podPorts, ...own] : own
    // The labels the user gave, not those the image carries.
    splitLabels((record.options.labels as Record<string, string> | undefined) ?? {}, `container ${record.name}`, labels, warnings)
    for (const [k, v] of Object.entries(record.annotations)) {
      if (annotations[k] !== undefined && annotations[k] !== v) warnings.push(`container ${record.name}: annotation ${k} differs from another container's; the pod keeps the first`)
      else annotations[k] = v
    }
    return containerOf(group, member, volumes, ports, warnings)
  })
  const first = group.containers[0]?.record
  let restartPolicy = first ? restartPolicyOf(first.restartPolicy) : 'Never'
  if (options.type === 'deployment' || options.type === 'daemonset') restartPolicy = 'Always'
  if (options.type === 'job' && restartPolicy === 'Always') restartPolicy = 'OnFailure'
  const explicitHostname = group.hostname ?? (first && group.containers.length === 1 && !first.pod ? optionString(first, 'hostname') : undefined)
  const spec: KubePodSpec = {
    containers,
    ...(volumes.volumes.length > 0 ? {volumes: volumes.volumes} : {}),
    restartPolicy,
    ...(explicitHostname !== undefined ? {hostname: explicitHostname} : {}),
    ...(first && first.network === 'host' ? {hostNetwork: true} : {}),
    // tspod's default (10 s) differs from Kubernetes' (30 s): write it whenever it is not ours.
    ...(first && first.stopTimeout !== 10 ? {terminationGracePeriodSeconds: first.stopTimeout} : {}),
  }
  return {
    metadata: {name, labels, ...(Object.keys(annotations).length > 0 ? {annotations} : {}), creationTimestamp: group.created},
    spec,
  }
}

function workload(group: KubeGroup, options: KubeGenerateOptions, warnings: string[]): KubeObject {
  const pod = buildPod(group, options, warnings)
  const {name, labels} = pod.metadata
  const selector = {matchLabels: {app: labels!.app}}
  const template = {metadata: {labels, ...(pod.metadata.annotations ? {annotations: pod.metadata.annotations} : {})}, spec: pod.spec}
  const meta = (suffix: string): ObjectMeta => ({name: `${name}-${suffix}`, labels: {app: labels!.app}, creationTimestamp: group.created})
  switch (options.type) {
    case 'deployment':
      return {apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('deployment'), spec: {replicas: options.replicas ?? 1, selector, template}}
    case 'daemonset':
      return {apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('daemonset'), spec: {selector, template}}
    case 'job':
      return {apiVersion: 'batch/v1', kind: 'Job', metadata: meta('job'), spec: {template}}
    default:
      return {apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata, spec: pod.spec as unknown as Record<string, unknown>}
  }
}

function serviceOf(group: KubeGroup, pod: {metadata: ObjectMeta; spec: KubePodSpec}): KubeObject | undefined {
  const ports = pod.spec.containers.flatMap(c => c.ports ?? [])
  if (ports.length === 0) return undefined
  const seen = new Set<string>()
  const servicePorts = []
  for (const p of ports) {
    const protocol = p.protocol ?? 'TCP'
    const key = `${p.containerPort}-${protocol.toLowerCase()}`
    if (seen.has(key)) continue
    seen.add(key)
    servicePorts.push({name: key, port: p.containerPort, protocol, targetPort: p.containerPort})
  }
  const name = toDnsLabel(group.name)
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name, labels: {app: pod.metadata.labels!.app}, creationTimestamp: group.created},
    spec: {ports: servicePorts, selector: {app: pod.metadata.labels!.app}, type: 'NodePort'},
  }
}

export function claimOf(volume: VolumeRecord): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: volume.Name,
      ...(Object.keys(volume.Labels).length > 0 ? {labels: volume.Labels} : {}),
      annotations: {'volume.podman.io/driver': volume.Driver},
      creationTimestamp: volume.CreatedAt,
    },
    spec: {accessModes: ['ReadWriteOnce'], resources: {requests: {storage: '1Gi'}}},
  }
}

/** The objects for the groups and volumes, in Podman's order: claims, then workloads with their services. */
export function buildKubeObjects(groups: KubeGroup[], volumes: VolumeRecord[], options: KubeGenerateOptions): KubeReport {
  const warnings: string[] = []
  if (options.replicas !== undefined && options.type !== 'deployment') {
    throw new InvalidArgumentError('--replicas is only used with --type=deployment')
  }
  const objects: KubeObject[] = volumes.map(claimOf)
  for (const group of groups) {
    objects.push(workload(group, options, warnings))
    if (options.service) {
      const service = serviceOf(group, buildPod(group, options, []))
      if (service) objects.push(service)
      else warnings.push(`pod ${group.name} publishes no ports: no Service is generated for it`)
    }
  }
  return {objects, warnings}
}

export function kubeHeader(version: string): string {
  return [
    `# Generated by tspod ${version}.`,
    '# Kubernetes: kubectl create -f THIS_FILE; tspod or Podman: kube play THIS_FILE.',
    '',
  ].join('\n')
}

/** Documents separated by `---`, keys sorted, sequences not indented under their key (as kubectl writes them). */
export function formatKubeYaml(objects: KubeObject[], version: string): string {
  const docs = objects.map(o => stringify(o, {sortMapEntries: true, indentSeq: false, lineWidth: 0, aliasDuplicateObjects: false}))
  return kubeHeader(version) + docs.join('---\n')
}

function imageConfigOf(engine: Engine, record: ContainerRecord): ContainerConfig {
  const image = engine.store.readImages().find(i => i.id === record.image)
  if (!image) return {}
  try {
    return readConfig(engine.store, image).config ?? {}
  } catch {
    return {}
  }
}

function groupOfPod(engine: Engine, pod: PodRecord): KubeGroup {
  const members = podContainers(engine.store, pod.id)
  const infra = members.find(r => r.infra)
  const containers = members.filter(r => !r.infra)
  if (containers.length === 0) throw new InvalidArgumentError(`pod ${pod.name} has no containers besides its infra container: nothing to generate`, {hint: `Add one: tspod create --pod ${pod.name} IMAGE`})
  return {
    name: pod.name,
    hostname: pod.hostname !== pod.name ? pod.hostname : undefined,
    labels: pod.labels,
    created: pod.created,
    podPorts: infra ? recordedMappings(infra.options.publish) : [],
    memberPrefix: `${pod.name}-`,
    containers: containers.map(record => ({record, image: imageConfigOf(engine, record)})),
  }
}

/** Resolve each name as a pod, a container or a volume (in that order), and build the YAML. */
export function generateKube(engine: Engine, refs: string[], options: KubeGenerateOptions): {yaml: string; warnings: string[]} {
  const groups: KubeGroup[] = []
  const loose: ContainerRecord[] = []
  const volumes: VolumeRecord[] = []
  for (const ref of refs) {
    const pod = findPod(engine.store, ref)
    if (pod) {
      groups.push(groupOfPod(engine, readPod(engine.store, pod.id)))
      continue
    }
    const entry = findContainer(engine.store, ref)
    if (entry) {
      const record = readRecord(engine.store, entry.id)
      if (record.infra) throw new InvalidArgumentError(`${ref} is the infra container of a pod: name the pod instead`)
      loose.push(record)
      continue
    }
    const volume = readVolume(engine.store, ref)
    if (volume) {
      volumes.push(volume)
      continue
    }
    throw new TspodError(`no pod, container or volume with name or ID "${ref}" found`, {hint: 'List them with tspod pod ps, tspod ps -a and tspod volume ls'})
  }
  if (loose.length > 0) {
    groups.unshift({
      name: `${loose[0].name}-pod`,
      labels: {},
      created: loose[0].created,
      podPorts: [],
      containers: loose.map(record => ({record, image: imageConfigOf(engine, record)})),
    })
  }
  const {objects, warnings} = buildKubeObjects(groups, volumes, options)
  return {yaml: formatKubeYaml(objects, options.version), warnings}
}
