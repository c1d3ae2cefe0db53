/**
 * From Kubernetes documents to what `kube play` creates: pods with their
 * containers' create options, claimed volumes, secrets. Pure: nothing here
 * touches the store, so every mapping can be tested on its own. Secret
 * references are resolved later, against the store (see play.ts).
 */
import {isAbsolute} from 'node:path'
import {InvalidArgumentError} from '../errors/index.js'
import {isValidName} from '../container/names.js'
import type {CreateOptions} from '../container/create.js'
import type {PortMapping} from '../network/ports.js'
import type {ContainerOptions} from '../runtime/spec.js'
import type {KubeDocument} from './documents.js'
import {unsupportedFields} from './fields.js'
import {parseQuantity} from './quantity.js'
import type {KubeContainer, KubeEnvFrom, KubeEnvVar, KubePodSpec, KubeVolume, ObjectMeta} from './types.js'

/** An environment variable taken from a secret when the container is created. */
export interface SecretEnv {
  /** The Secret's name and key; no key: every key of the Secret (envFrom). */
  secret: string
  key?: string
  /** The variable's name, or with envFrom the prefix. */
  target: string
  optional: boolean
  where: string
}

export interface HostPathCheck {
  path: string
  type: string
  where: string
}

export interface PlannedContainer {
  name: string
  image: string
  pull: CreateOptions['pull']
  restart: string
  /** Seconds between the stop signal and SIGKILL (terminationGracePeriodSeconds). */
  stopTimeout?: number
  spec: ContainerOptions
  secretEnv: SecretEnv[]
}

export interface PlannedPod {
  name: string
  /** The document and kind it comes from, for messages. */
  origin: string
  hostname?: string
  labels: Record<string, string>
  hostNetwork: boolean
  publish: PortMapping[]
  containers: PlannedContainer[]
  /** Run one after another to completion before the containers start. */
  initContainers: PlannedContainer[]
  hostPaths: HostPathCheck[]
  /** Named volumes the pod's containers use. */
  claims: string[]
}

export interface PlannedClaim {
  name: string
  labels: Record<string, string>
}

export interface PlannedSecret {
  name: string
  data: Record<string, Buffer>
  labels: Record<string, string>
}

export interface KubePlan {
  pods: PlannedPod[]
  claims: PlannedClaim[]
  secrets: PlannedSecret[]
  warnings: string[]
}

export interface PlanOptions {
  /** ConfigMap documents given with --configmap, besides those in the file. */
  configMaps?: KubeDocument[]
}

const WORKLOADS = new Set(['Pod', 'Deployment', 'DaemonSet', 'Job'])
const KNOWN = new Set([...WORKLOADS, 'PersistentVolumeClaim', 'ConfigMap', 'Secret'])
const HOST_PATH_TYPES = new Set(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'])

function metaOf(doc: KubeDocument, path: Array<string | number> = ['metadata']): ObjectMeta {
  let value: unknown = doc.value
  for (const step of path) value = (value as Record<string | number, unknown> | undefined)?.[step]
  const meta = (value ?? {}) as Partial<ObjectMeta>
  const strings = (m: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v)]))
  return {name: meta.name === undefined ? '' : String(meta.name), labels: strings(meta.labels), annotations: strings(meta.annotations)}
}

function nameOf(doc: KubeDocument, kind: string): string {
  const {name} = metaOf(doc)
  if (name === '') throw new InvalidArgumentError(`${doc.locate(['metadata'])}: ${kind} has no metadata.name`)
  if (!isValidName(name)) throw new InvalidArgumentError(`${doc.locate(['metadata', 'name'])}: ${kind} name "${name}" is not a valid name: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`)
  return name
}

function kindOf(doc: KubeDocument): string {
  const kind = doc.value.kind
  if (typeof kind !== 'string' || kind === '') throw new InvalidArgumentError(`${doc.locate([])}: the document has no kind`, {hint: 'Each document needs apiVersion, kind and metadata'})
  return kind
}

/** The `data` of ConfigMaps by name, from the file and from --configmap files. */
function configMapsOf(docs: KubeDocument[]): Map<string, Record<string, string>> {
  const maps = new Map<string, Record<string, string>>()
  for (const doc of docs) {
    if (doc.value.kind !== 'ConfigMap') continue
    const data = (doc.value.data ?? {}) as Record<string, unknown>
    maps.set(nameOf(doc, 'ConfigMap'), Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)])))
  }
  return maps
}

function secretOf(doc: KubeDocument): PlannedSecret {
  const name = nameOf(doc, 'Secret')
  const data: Record<string, Buffer> = {}
  for (const [k, v] of Object.entries((doc.value.data ?? {}) as Record<string, unknown>)) {
    const text = String(v).replace(/\s+/g, '')
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new InvalidArgumentError(`${doc.locate(['data', k])}: data.${k} of Secret ${name} is not base64`, {hint: 'Put plain text under stringData instead'})
    data[k] = Buffer.from(text, 'base64')
  }
  for (const [k, v] of Object.entries((doc.value.stringData ?? {}) as Record<string, unknown>)) data[k] = Buffer.from(String(v))
  return {name, data, labels: metaOf(doc).labels ?? {}}
}

function integer(value: unknown, where: string, what: string, range: [number, number]): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < range[0] || n > range[1]) {
    throw new InvalidArgumentError(`${where}: ${what} must be a whole number from ${range[0]} to ${range[1]}, not ${JSON.stringify(value)}`)
  }
  return n
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.map(String) : undefined
}

function restartOf(policy: unknown, where: string, kind: string): string {
  const value = policy === undefined ? (kind === 'Job' ? 'OnFailure' : 'Always') : String(policy)
  if ((kind === 'Deployment' || kind === 'DaemonSet') && value !== 'Always') throw new InvalidArgumentError(`${where}: a ${kind}'s pods must have restartPolicy Always, not ${value}`)
  if (kind === 'Job' && value === 'Always') throw new InvalidArgumentError(`${where}: a Job's pods must have restartPolicy OnFailure or Never`)
  switch (value) {
    case 'Always': return 'always'
    case 'OnFailure': return 'on-failure'
    case 'Never': return 'no'
    default: throw new InvalidArgumentError(`${where}: restartPolicy must be Always, OnFailure or Never, not ${value}`)
  }
}

function pullOf(policy: unknown, where: string): CreateOptions['pull'] {
  switch (policy) {
    case undefined: case 'IfNotPresent': return 'missing'
    case 'Always': return 'always'
    case 'Never': return 'never'
    default: throw new InvalidArgumentError(`${where}: imagePullPolicy must be Always, IfNotPresent or Never, not ${String(policy)}`)
  }
}

interface PodContext {
  doc: KubeDocument
  /** Path of the pod spec inside the document. */
  specPath: Array<string | number>
  kind: string
  podName: string
  spec: KubePodSpec
  volumes: Map<string, KubeVolume>
  configMaps: Map<string, Record<string, string>>
  pod: PlannedPod
  warnings: string[]
}

function envOf(ctx: PodContext, c: KubeContainer, path: Array<string | number>, secretEnv: SecretEnv[]): string[] {
  const env = new Map<string, string>()
  const configMap = (name: string, optional: boolean, where: string): Record<string, string> | undefined => {
    const data = ctx.configMaps.get(name)
    if (!data && !optional) {
      throw new InvalidArgumentError(`${where}: ConfigMap "${name}" not found`, {hint: 'Put the ConfigMap in the same file (after ---) or give its file with --configmap FILE'})
    }
    return data
  }
  for (const [i, from] of ((c.envFrom ?? []) as KubeEnvFrom[]).entries()) {
    const where = ctx.doc.locate([...path, 'envFrom', i])
    const prefix = from.prefix === undefined ? '' : String(from.prefix)
    if (from.configMapRef) {
      const data = configMap(String(from.configMapRef.name), from.configMapRef.optional === true, where)
      for (const [k, v] of Object.entries(data ?? {})) env.set(prefix + k, v)
    }
    if (from.secretRef) secretEnv.push({secret: String(from.secretRef.name), target: prefix, optional: from.secretRef.optional === true, where})
  }
  for (const [i, e] of ((c.env ?? []) as KubeEnvVar[]).entries()) {
    const where = ctx.doc.locate([...path, 'env', i])
    if (e.name === undefined || String(e.name) === '') throw new InvalidArgumentError(`${where}: an environment variable needs a name`)
    const name = String(e.name)
    const cm = e.valueFrom?.configMapKeyRef
    const sk = e.valueFrom?.secretKeyRef
    if (cm) {
      const data = configMap(String(cm.name), cm.optional === true, where)
      const v = data?.[String(cm.key)]
      if (v === undefined && data && cm.optional !== true) throw new InvalidArgumentError(`${where}: ConfigMap "${cm.name}" has no key "${cm.key}"`)
      if (v !== undefined) env.set(name, v)
    } else if (sk) {
      env.delete(name)
      secretEnv.push({secret: String(sk.name), key: String(sk.key), target: name, optional: sk.optional === true, where})
    } else {
      env.set(name, e.value === undefined || e.value === null ? '' : String(e.value))
    }
  }
  return [...env].map(([k, v]) => `${k}=${v}`)
}

function mountsOf(ctx: PodContext, c: KubeContainer, path: Array<string | number>, spec: ContainerOptions): void {
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    const where = ctx.doc.locate([...path, 'volumeMounts', i])
    const volume = ctx.volumes.get(String(m.name))
    if (!volume) throw new InvalidArgumentError(`${where}: volumeMounts[${i}] names volume "${m.name}", which spec.volumes does not define`)
    const target = String(m.mountPath ?? '')
    if (!isAbsolute(target)) throw new InvalidArgumentError(`${where}: mountPath must be an absolute path, not "${target}"`)
    if (!volume.hostPath && !volume.persistentVolumeClaim && !volume.emptyDir) {
      ctx.warnings.push(`${where}: volume ${volume.name} is of a kind tspod does not support: ${target} is not mounted`)
      continue
    }
    const ro = m.readOnly === true || volume.persistentVolumeClaim?.readOnly === true ? ':ro' : ''
    if (volume.hostPath) spec.volumes.push(`${volume.hostPath.path}:${target}${ro}`)
    else if (volume.persistentVolumeClaim) spec.volumes.push(`${volume.persistentVolumeClaim.claimName}:${target}${ro}`)
    else spec.tmpfs.push(target)
  }
}

function securityOf(ctx: PodContext, c: KubeContainer, spec: ContainerOptions): void {
  const sc = c.securityContext ?? {}
  spec.capAdd = strings(sc.capabilities?.add) ?? []
  spec.capDrop = strings(sc.capabilities?.drop) ?? []
  spec.privileged = sc.privileged === true
  spec.readOnly = sc.readOnlyRootFilesystem === true
  const uid = sc.runAsUser ?? ctx.spec.securityContext?.runAsUser
  const gid = sc.runAsGroup ?? ctx.spec.securityContext?.runAsGroup
  if (uid !== undefined) spec.user = gid !== undefined ? `${uid}:${gid}` : String(uid)
  else if (gid !== undefined) throw new InvalidArgumentError(`${ctx.doc.locate(ctx.specPath)}: runAsGroup needs runAsUser: tspod sets both together`)
}

function containerOf(ctx: PodContext, c: KubeContainer, i: number, restart: string, names: Set<string>, list = 'containers'): PlannedContainer {
  const path = [...ctx.specPath, list, i]
  const where = ctx.doc.locate(path)
  if (c.name === undefined || String(c.name) === '') throw new InvalidArgumentError(`${where}: ${list}[${i}] has no name`)
  if (c.image === undefined || String(c.image) === '') throw new InvalidArgumentError(`${where}: container ${c.name} has no image`)
  const short = String(c.name)
  if (names.has(short)) throw new InvalidArgumentError(`${where}: two containers are named ${short}`)
  names.add(short)
  const secretEnv: SecretEnv[] = []
  const meta = metaOf(ctx.doc, ctx.specPath.slice(0, -1).concat('metadata'))
  const spec: ContainerOptions = {
    command: strings(c.args),
    entrypoint: strings(c.command),
    env: envOf(ctx, c, path, secretEnv),
    envFiles: [],
    envHost: false,
    workdir: c.workingDir === undefined ? undefined : String(c.workingDir),
    groupAdd: [],
    tty: c.tty === true,
    stdin: c.stdin === true,
    readOnly: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    securityOpt: [],
    ulimits: [],
    tmpfs: [],
    volumes: [],
    mounts: [],
    devices: [],
    network: ctx.pod.hostNetwork ? 'host' : 'private',
    annotations: meta.annotations ?? {},
    labels: meta.labels ?? {},
  }
  securityOf(ctx, c, spec)
  mountsOf(ctx, c, path, spec)
  const limits = c.resources?.limits ?? {}
  if (limits.memory !== undefined) spec.memory = String(Math.floor(parseQuantity(limits.memory, `${where}: resources.limits.memory`)))
  if (limits.cpu !== undefined) spec.cpus = String(parseQuantity(limits.cpu, `${where}: resources.limits.cpu`))
  for (const [j, p] of (c.ports ?? []).entries()) {
    const at = ctx.doc.locate([...path, 'ports', j])
    const containerPort = integer(p.containerPort, at, 'containerPort', [1, 65535])
    const protocol = String(p.protocol ?? 'TCP').toUpperCase()
    if (protocol !== 'TCP' && protocol !== 'UDP') throw new InvalidArgumentError(`${at}: protocol ${protocol} is not supported: use TCP or UDP`)
    // Without a hostPort, Kubernetes publishes nothing on the node, and neither does tspod.
    if (p.hostPort === undefined) continue
    ctx.pod.publish.push({hostIp: p.hostIP === undefined ? '' : String(p.hostIP), hostPort: integer(p.hostPort, at, 'hostPort', [1, 65535]), containerPort, protocol: protocol.toLowerCase() as 'tcp' | 'udp'})
  }
  return {
    name: `${ctx.podName}-${short}`,
    image: String(c.image),
    pull: pullOf(c.imagePullPolicy, where),
    restart,
    stopTimeout: ctx.spec.terminationGracePeriodSeconds === undefined
      ? undefined
      : integer(ctx.spec.terminationGracePeriodSeconds, ctx.doc.locate([...ctx.specPath, 'terminationGracePeriodSeconds']), 'terminationGracePeriodSeconds', [0, 86400]),
    spec,
    secretEnv,
  }
}

function volumesOf(ctx: Omit<PodContext, 'volumes'>): Map<string, KubeVolume> {
  const volumes = new Map<string, KubeVolume>()
  for (const [i, v] of (ctx.spec.volumes ?? []).entries()) {
    const where = ctx.doc.locate([...ctx.specPath, 'volumes', i])
    const name = String(v.name ?? '')
    if (name === '') throw new InvalidArgumentError(`${where}: volumes[${i}] has no name`)
    const sources = ['hostPath', 'persistentVolumeClaim', 'emptyDir'].filter(k => (v as unknown as Record<string, unknown>)[k] !== undefined)
    if (sources.length !== 1) {
      // A volume of a kind tspod lacks (configMap, secret, nfs…) was reported as unsupported; one without any source is an error either way.
      const others = Object.keys(v).filter(k => k !== 'name')
      if (others.length > 0 && sources.length === 0) {
        volumes.set(name, v)
        continue
      }
      throw new InvalidArgumentError(`${where}: volume ${name} must have exactly one of hostPath, persistentVolumeClaim or emptyDir`)
    }
    if (v.hostPath) {
      const path = String(v.hostPath.path ?? '')
      if (!isAbsolute(path)) throw new InvalidArgumentError(`${where}: hostPath.path must be absolute, not "${path}"`)
      const type = v.hostPath.type === undefined ? '' : String(v.hostPath.type)
      if (!HOST_PATH_TYPES.has(type)) throw new InvalidArgumentError(`${where}: hostPath.type ${type} is not one of ${[...HOST_PATH_TYPES].filter(Boolean).join(', ')}`)
      ctx.pod.hostPaths.push({path, type, where})
    }
    if (v.persistentVolumeClaim) {
      const claim = String(v.persistentVolumeClaim.claimName ?? '')
      if (!isValidName(claim)) throw new InvalidArgumentError(`${where}: claimName "${claim}" is not a valid volume name`)
      if (!ctx.pod.claims.includes(claim)) ctx.pod.claims.push(claim)
    }
    volumes.set(name, v)
  }
  return volumes
}

/** Pod names of a workload: Podman's `<name>-pod`, and `-pod-<i>` for each of several replicas. */
export function podNamesOf(doc: KubeDocument): string[] {
  const kind = kindOf(doc)
  const name = nameOf(doc, kind)
  if (kind === 'Pod') return [name]
  if (kind !== 'Deployment') return [`${name}-pod`]
  const spec = (doc.value.spec ?? {}) as {replicas?: unknown}
  const replicas = spec.replicas === undefined ? 1 : integer(spec.replicas, doc.locate(['spec', 'replicas']), 'replicas', [0, 1000])
  if (replicas === 1) return [`${name}-pod`]
  return Array.from({length: replicas}, (_, i) => `${name}-pod-${i}`)
}

function podsOf(doc: KubeDocument, kind: string, configMaps: Map<string, Record<string, string>>, warnings: string[]): PlannedPod[] {
  const specPath = kind === 'Pod' ? ['spec'] : ['spec', 'template', 'spec']
  const spec = (kind === 'Pod' ? doc.value.spec : ((doc.value.spec as Record<string, unknown> | undefined)?.template as Record<string, unknown> | undefined)?.spec) as KubePodSpec | undefined
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw new InvalidArgumentError(`${doc.locate(specPath.slice(0, -1))}: ${kind} ${nameOf(doc, kind)} has no ${specPath.join('.')}.containers`)
  }
  const meta = metaOf(doc, kind === 'Pod' ? ['metadata'] : ['spec', 'template', 'metadata'])
  const labels = {...metaOf(doc).labels, ...meta.labels}
  const restart = restartOf(spec.restartPolicy, doc.locate([...specPath, 'restartPolicy']), kind)
  return podNamesOf(doc).map(podName => {
    const pod: PlannedPod = {
      name: podName,
      origin: `${kind} ${nameOf(doc, kind)}`,
      hostname: spec.hostname === undefined ? undefined : String(spec.hostname),
      labels,
      hostNetwork: spec.hostNetwork === true,
      publish: [],
      containers: [],
      initContainers: [],
      hostPaths: [],
      claims: [],
    }
    const base = {doc, specPath, kind, podName, spec, configMaps, pod, warnings}
    const ctx: PodContext = {...base, volumes: volumesOf(base)}
    const names = new Set<string>()
    // An init container runs once to completion, whatever the pod's restart policy.
    pod.initContainers = (spec.initContainers ?? []).map((c, i) => containerOf(ctx, c, i, 'no', names, 'initContainers'))
    pod.containers = spec.containers.map((c, i) => containerOf(ctx, c, i, restart, names))
    return pod
  })
}

/**
 * The plan for a stream of documents. Unknown kinds and unsupported fields
 * become warnings naming them; malformed values are errors naming their place.
 */
export function planKube(docs: KubeDocument[], options: PlanOptions = {}): KubePlan {
  const warnings: string[] = []
  const configMaps = configMapsOf([...(options.configMaps ?? []), ...docs])
  const plan: KubePlan = {pods: [], claims: [], secrets: [], warnings}
  for (const doc of docs) {
    const kind = kindOf(doc)
    if (!KNOWN.has(kind)) {
      warnings.push(`${doc.locate(['kind'])}: kind ${kind} is not supported by tspod kube play: document ${doc.index + 1} is ignored`)
      continue
    }
    for (const field of unsupportedFields(doc, kind)) warnings.push(`${field} is not supported by tspod: ignored`)
    if (WORKLOADS.has(kind)) plan.pods.push(...podsOf(doc, kind, configMaps, warnings))
    else if (kind === 'PersistentVolumeClaim') plan.claims.push({name: nameOf(doc, kind), labels: metaOf(doc).labels ?? {}})
    else if (kind === 'Secret') plan.secrets.push(secretOf(doc))
  }
  const seen = new Set<string>()
  for (const pod of plan.pods) {
    if (seen.has(pod.name)) throw new InvalidArgumentError(`two documents make a pod named ${pod.name}`)
    seen.add(pod.name)
  }
  return plan
}

/** What `kube down` removes for these documents: pods, claimed volumes and secrets by name. */
export function teardownOf(docs: KubeDocument[]): {pods: string[]; claims: string[]; secrets: string[]} {
  const out = {pods: [] as string[], claims: [] as string[], secrets: [] as string[]}
  for (const doc of docs) {
    const kind = doc.value.kind
    if (kind === 'Pod' || kind === 'Deployment' || kind === 'DaemonSet' || kind === 'Job') {
      out.pods.push(...podNamesOf(doc))
      const spec = (kind === 'Pod' ? doc.value.spec : ((doc.value.spec as Record<string, unknown> | undefined)?.template as Record<string, unknown> | undefined)?.spec) as KubePodSpec | undefined
      for (const v of spec?.volumes ?? []) if (v.persistentVolumeClaim?.claimName) out.claims.push(String(v.persistentVolumeClaim.claimName))
    } else if (kind === 'PersistentVolumeClaim') {
      out.claims.push(nameOf(doc, kind))
    } else if (kind === 'Secret') {
      out.secrets.push(nameOf(doc, kind))
    }
  }
  return {pods: [...new Set(out.pods)], claims: [...new Set(out.claims)], secrets: [...new Set(out.secrets)]}
}
