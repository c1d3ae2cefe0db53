/**
 * Which fields of each kind `kube play` acts on. Anything else in a document
 * is reported by its path (`spec.containers[0].livenessProbe`), never
 * dropped in silence; a field of the wrong shape is an error.
 */
import {InvalidArgumentError} from '../errors/index.js'
import type {KubeDocument} from './documents.js'

/** `scalar`: a string, number or boolean; `map`: string keys to scalars; `any`: taken whole; an array: a list of that shape. */
export type Shape = 'scalar' | 'map' | 'any' | readonly Shape[] | {readonly [field: string]: Shape}

const S = 'scalar'
const MAP = 'map'

const META: Shape = {name: S, namespace: S, labels: MAP, annotations: MAP, creationTimestamp: 'any'}
const KEY_REF: Shape = {name: S, key: S, optional: S}

const CONTAINER: Shape = {
  name: S,
  image: S,
  command: [S],
  args: [S],
  workingDir: S,
  env: [{name: S, value: S, valueFrom: {configMapKeyRef: KEY_REF, secretKeyRef: KEY_REF}}],
  envFrom: [{prefix: S, configMapRef: {name: S, optional: S}, secretRef: {name: S, optional: S}}],
  ports: [{containerPort: S, hostPort: S, hostIP: S, protocol: S, name: S}],
  volumeMounts: [{name: S, mountPath: S, readOnly: S}],
  securityContext: {capabilities: {add: [S], drop: [S]}, privileged: S, readOnlyRootFilesystem: S, runAsUser: S, runAsGroup: S},
  resources: {limits: {memory: S, cpu: S}},
  imagePullPolicy: S,
  stdin: S,
  tty: S,
}

const POD_SPEC: Shape = {
  containers: [CONTAINER],
  initContainers: [CONTAINER],
  volumes: [{name: S, hostPath: {path: S, type: S}, persistentVolumeClaim: {claimName: S, readOnly: S}, emptyDir: {medium: S}}],
  restartPolicy: S,
  hostname: S,
  hostNetwork: S,
  securityContext: {runAsUser: S, runAsGroup: S},
  terminationGracePeriodSeconds: S,
  // Podman writes both as false; tspod has neither service accounts nor service links, so either value means the same here.
  automountServiceAccountToken: S,
  enableServiceLinks: S,
}

const TEMPLATE: Shape = {metadata: META, spec: POD_SPEC}
const SELECTOR: Shape = {matchLabels: MAP}
const HEAD = {apiVersion: S, kind: S, metadata: META} as const

export const KIND_SHAPES: Record<string, Shape> = {
  Pod: {...HEAD, spec: POD_SPEC},
  Deployment: {...HEAD, spec: {replicas: S, selector: SELECTOR, template: TEMPLATE}},
  DaemonSet: {...HEAD, spec: {selector: SELECTOR, template: TEMPLATE}},
  Job: {...HEAD, spec: {template: TEMPLATE}},
  // A local volume has no size or access modes to enforce; claims say both, so they are accepted as documented in docs/kube.md.
  PersistentVolumeClaim: {...HEAD, spec: {accessModes: [S], resources: {requests: {storage: S}}, storageClassName: S, volumeMode: S}},
  ConfigMap: {...HEAD, data: MAP, immutable: S},
  Secret: {...HEAD, data: MAP, stringData: MAP, type: S, immutable: S},
}

function pathText(path: Array<string | number>): string {
  let out = ''
  for (const step of path) out += typeof step === 'number' ? `[${step}]` : out === '' ? step : `.${step}`
  return out
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (value === null) return 'null'
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`
}

function walk(doc: KubeDocument, value: unknown, shape: Shape, path: Array<string | number>, out: string[]): void {
  if (shape === 'any' || value === null || value === undefined) return
  const wrong = (expected: string) => new InvalidArgumentError(`${doc.locate(path)}: ${pathText(path)}: expected ${expected}, found ${kindOf(value)}`)
  if (shape === 'scalar') {
    if (typeof value === 'object') throw wrong('a single value')
    return
  }
  if (shape === 'map') {
    if (typeof value !== 'object' || Array.isArray(value)) throw wrong('a mapping')
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && typeof v === 'object') throw new InvalidArgumentError(`${doc.locate([...path, k])}: ${pathText([...path, k])}: expected a single value, found ${kindOf(v)}`)
    }
    return
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) throw wrong('a list')
    value.forEach((item, i) => walk(doc, item, shape[0] as Shape, [...path, i], out))
    return
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw wrong('a mapping')
  const fields = shape as {readonly [field: string]: Shape}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = fields[k]
    if (sub === undefined) out.push(`${doc.locate([...path, k])}: ${pathText([...path, k])}`)
    else walk(doc, v, sub, [...path, k], out)
  }
}

/** The fields of a document that tspod does not act on, each as `file:line:column: path`. */
export function unsupportedFields(doc: KubeDocument, kind: string): string[] {
  const shape = KIND_SHAPES[kind]
  if (!shape) return []
  const out: string[] = []
  walk(doc, doc.value, shape, [], out)
  return out
}
