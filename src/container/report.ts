/** What `ps` and `inspect` show of a container, in Podman's shapes. */
import type {Store} from '../storage/store.js'
import {formatTimeAgo} from '../util/units.js'
import {describeNetwork} from '../network/backend.js'
import {readHealth} from './health-state.js'
import {containerPaths, currentState, readRecord, type ContainerIndexEntry, type ContainerRecord, type ContainerState} from './container-store.js'

export interface ContainerSummary {
  AutoRemove: boolean
  Command: string[]
  Created: number
  CreatedAt: string
  Exited: boolean
  ExitedAt: number
  ExitCode: number
  Id: string
  Image: string
  ImageID: string
  IsInfra: boolean
  Labels: Record<string, string> | null
  Mounts: string[]
  Names: string[]
  Namespaces: Record<string, never>
  Networks: string[]
  Pid: number
  Pod: string
  PodName: string
  Ports: Array<{host_ip: string; container_port: number; host_port: number; range: number; protocol: string}> | null
  Size: null
  StartedAt: number
  State: string
  Status: string
}

/** go-units HumanDuration without " ago": `Up 5 seconds`, `Up About a minute`. */
export function humanDuration(since: Date, now = new Date()): string {
  return formatTimeAgo(since, now).replace(/ ago$/, '')
}

export function statusText(state: ContainerState, now = new Date()): string {
  switch (state.status) {
    case 'running':
      return `Up ${humanDuration(new Date(state.startedAt ?? now), now)}`
    case 'stopping':
      return 'Stopping'
    case 'paused':
      return 'Paused'
    case 'exited':
      return `Exited (${state.exitCode ?? -1}) ${state.finishedAt ? formatTimeAgo(new Date(state.finishedAt), now) : ''}`.trim()
    case 'removing':
      return 'Removing'
    default:
      return 'Created'
  }
}

export interface ListedContainer {
  record: ContainerRecord
  state: ContainerState
  summary: ContainerSummary
}

export function summarize(store: Store, entry: ContainerIndexEntry): ListedContainer | undefined {
  let record: ContainerRecord
  try {
    record = readRecord(store, entry.id)
  } catch {
    return undefined // removed meanwhile
  }
  const state = currentState(store, entry.id)
  const created = new Date(record.created)
  const summary: ContainerSummary = {
    AutoRemove: record.autoRemove,
    Command: record.args,
    Created: Math.floor(created.getTime() / 1000),
    CreatedAt: created.toISOString(),
    Exited: state.status === 'exited',
    ExitedAt: state.finishedAt ? Math.floor(Date.parse(state.finishedAt) / 1000) : -62135596800,
    ExitCode: state.exitCode ?? 0,
    Id: record.id,
    Image: record.imageName,
    ImageID: record.image,
    IsInfra: false,
    Labels: Object.keys(record.labels).length > 0 ? record.labels : null,
    Mounts: record.mounts.map(m => m.destination),
    Names: [record.name],
    Namespaces: {},
    Networks: [],
    Pid: state.status === 'running' ? state.pid ?? 0 : 0,
    Pod: record.pod ?? '',
    PodName: '',
    Ports: describeNetwork(record).psPorts,
    Size: null,
    StartedAt: state.startedAt ? Math.floor(Date.parse(state.startedAt) / 1000) : -62135596800,
    State: state.status,
    Status: statusText(state) + healthSuffix(store, record, state),
  }
  return {record, state, summary}
}

/** ps shows the health next to `Up …`, as Podman does: `Up 5 seconds (healthy)`. */
function healthSuffix(store: Store, record: ContainerRecord, state: ContainerState): string {
  if (!record.healthcheck || state.status !== 'running') return ''
  const status = readHealth(store, record).Status
  return status ? ` (${status})` : ''
}

function goTime(iso: string | undefined): string {
  return iso ?? '0001-01-01T00:00:00Z'
}

/** `tspod container inspect`: the fields Podman users script against. */
export function inspectContainer(store: Store, record: ContainerRecord, state: ContainerState) {
  const paths = containerPaths(store, record.id)
  const running = state.status === 'running' || state.status === 'paused' || state.status === 'stopping'
  return {
    Id: record.id,
    Created: record.created,
    Path: record.args[0] ?? '',
    Args: record.args.slice(1),
    State: {
      OciVersion: '1.0.2-dev',
      Status: state.status,
      Running: running,
      Paused: state.status === 'paused',
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? state.pid ?? 0 : 0,
      ConmonPid: running ? state.monitorPid ?? 0 : 0,
      ExitCode: state.exitCode ?? 0,
      Error: state.error ?? '',
      StartedAt: goTime(state.startedAt),
      FinishedAt: goTime(state.finishedAt),
      Health: readHealth(store, record),
    },
    Image: record.image,
    ImageName: record.imageName,
    Rootfs: '',
    Pod: record.pod ?? '',
    ResolvConfPath: `${paths.userdata}/resolv.conf`,
    HostnamePath: `${paths.userdata}/hostname`,
    HostsPath: `${paths.userdata}/hosts`,
    StaticDir: paths.userdata,
    OCIConfigPath: `${paths.bundle}/config.json`,
    OCIRuntime: record.runtime.name,
    ConmonPidFile: '',
    PidFile: paths.pidFile,
    Name: record.name,
    RestartCount: state.restartCount,
    Driver: store.driver,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    EffectiveCaps: null,
    BoundingCaps: null,
    ExecIDs: [],
    GraphDriver: {
      Name: store.driver,
      Data: record.rootfsKind === 'overlay'
        ? {LowerDir: [...record.layers].reverse().map(l => store.layerDiffDir(l)).join(':'), UpperDir: paths.diff, WorkDir: paths.work, MergedDir: paths.merged}
        : {RootDir: paths.rootfs},
    },
    Mounts: record.mounts.map(m => ({Type: m.type, Name: m.name ?? '', Source: m.source, Destination: m.destination, Driver: m.type === 'volume' ? 'local' : '', Mode: '', Options: m.options, RW: !m.options.includes('ro'), Propagation: 'rprivate'})),
    Dependencies: [],
    NetworkSettings: {Ports: describeNetwork(record).ports, SandboxKey: '', Networks: {}},
    Namespace: '',
    IsInfra: false,
    IsService: false,
    Config: {
      Hostname: record.hostname,
      Domainname: '',
      User: record.user,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: record.tty,
      OpenStdin: record.stdin,
      StdinOnce: false,
      Env: record.env,
      Cmd: record.cmd,
      Image: record.imageName,
      Volumes: null,
      WorkingDir: record.workdir,
      Entrypoint: record.entrypoint.join(' '),
      OnBuild: null,
      Labels: record.labels,
      Annotations: record.annotations,
      StopSignal: record.stopSignal,
      StopTimeout: record.stopTimeout,
      CreateCommand: record.createCommand,
      ...(record.healthcheck ? {Healthcheck: record.healthcheck, HealthcheckOnFailureAction: record.healthOnFailure ?? 'none'} : {}),
      Secrets: record.secrets?.map(s => ({ID: s.ID, Name: s.Name, UID: s.UID, GID: s.GID, Mode: s.Mode})) ?? null,
      Umask: '0022',
      Timeout: 0,
      Passwd: true,
    },
    HostConfig: {
      Binds: record.mounts.filter(m => m.type !== 'tmpfs').map(m => `${m.name ?? m.source}:${m.destination}:${m.options.join(',') || 'rw'}`),
      NetworkMode: describeNetwork(record).networkMode,
      PortBindings: describeNetwork(record).portBindings,
      AutoRemove: record.autoRemove,
      RestartPolicy: {Name: record.restartPolicy.name === 'no' ? '' : record.restartPolicy.name, MaximumRetryCount: record.restartPolicy.maxRetries},
      LogConfig: {Type: record.logDriver, Config: null, Path: paths.log, Tag: '', Size: record.logMaxSize > 0 ? String(record.logMaxSize) : '0B'},
      Runtime: 'oci',
      ReadonlyRootfs: record.options.readOnly === true,
      Privileged: record.options.privileged === true,
      CapAdd: (record.options.capAdd as string[] | undefined) ?? [],
      CapDrop: (record.options.capDrop as string[] | undefined) ?? [],
      SecurityOpt: (record.options.securityOpt as string[] | undefined) ?? [],
      Init: record.options.init === true,
      // tspod adds what Podman lacks: which requested limits this host cannot enforce.
      UnenforcedLimits: record.unenforced,
    },
  }
}
