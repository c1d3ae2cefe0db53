/**
 * The parts of the Kubernetes API objects tspod writes and reads, with the
 * API's own JSON field names (core/v1, apps/v1, batch/v1).
 */

export interface ObjectMeta {
  name: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  creationTimestamp?: string
}

export interface KubeEnvVar {
  name: string
  value?: string
  valueFrom?: {
    configMapKeyRef?: {name: string; key: string; optional?: boolean}
    secretKeyRef?: {name: string; key: string; optional?: boolean}
  }
}

export interface KubeEnvFrom {
  prefix?: string
  configMapRef?: {name: string; optional?: boolean}
  secretRef?: {name: string; optional?: boolean}
}

export interface KubeContainerPort {
  containerPort: number
  hostPort?: number
  hostIP?: string
  protocol?: 'TCP' | 'UDP' | 'SCTP'
  name?: string
}

export interface KubeVolumeMount {
  name: string
  mountPath: string
  readOnly?: boolean
}

export interface KubeSecurityContext {
  capabilities?: {add?: string[]; drop?: string[]}
  privileged?: boolean
  readOnlyRootFilesystem?: boolean
  runAsUser?: number
  runAsGroup?: number
}

export interface KubeContainer {
  name: string
  image: string
  command?: string[]
  args?: string[]
  workingDir?: string
  env?: KubeEnvVar[]
  envFrom?: KubeEnvFrom[]
  ports?: KubeContainerPort[]
  volumeMounts?: KubeVolumeMount[]
  securityContext?: KubeSecurityContext
  resources?: {limits?: Record<string, string | number>; requests?: Record<string, string | number>}
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never'
  stdin?: boolean
  tty?: boolean
}

export interface KubeVolume {
  name: string
  hostPath?: {path: string; type?: string}
  persistentVolumeClaim?: {claimName: string; readOnly?: boolean}
  emptyDir?: {medium?: string}
}

export interface KubePodSpec {
  containers: KubeContainer[]
  initContainers?: KubeContainer[]
  volumes?: KubeVolume[]
  restartPolicy?: 'Always' | 'OnFailure' | 'Never'
  hostname?: string
  hostNetwork?: boolean
  securityContext?: {runAsUser?: number; runAsGroup?: number}
  terminationGracePeriodSeconds?: number
}

export interface KubePodTemplate {
  metadata: Omit<ObjectMeta, 'name'> & {name?: string}
  spec: KubePodSpec
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  spec?: Record<string, unknown>
  data?: Record<string, string>
  stringData?: Record<string, string>
}

export type WorkloadKind = 'pod' | 'deployment' | 'daemonset' | 'job'
