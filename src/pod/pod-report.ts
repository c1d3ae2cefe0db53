/** What `pod ps` and `pod inspect` show of a pod, in Podman's shapes. */
import {InvalidArgumentError} from '../errors/index.js'
import type {Store} from '../storage/store.js'
import {currentState, type ContainerRecord, type ContainerState} from '../container/container-store.js'
import {describeNetwork, recordNetwork} from '../network/backend.js'
import {podStatus} from './pods.js'
import {podContainers, type PodRecord} from './pod-store.js'

export interface PodMember {
  record: ContainerRecord
  state: ContainerState
}

export interface ListedPod {
  pod: PodRecord
  members: PodMember[]
  status: ReturnType<typeof podStatus>
}

export function describePod(store: Store, pod: PodRecord): ListedPod {
  const members = podContainers(store, pod.id).map(record => ({record, state: currentState(store, record.id)}))
  return {pod, members, status: podStatus(members.map(m => m.state))}
}

/** `pod ps --format json`: one object per pod. */
export function podSummary(listed: ListedPod) {
  const {pod, members, status} = listed
  return {
    Cgroup: '',
    Containers: members.map(m => ({Id: m.record.id, Names: m.record.name, Status: m.state.status})),
    Created: pod.created,
    Id: pod.id,
    InfraId: pod.infraId ?? '',
    Name: pod.name,
    Namespace: '',
    Networks: [] as string[],
    Status: status,
    Labels: pod.labels,
  }
}

const POD_STATUSES = ['created', 'running', 'stopped', 'exited', 'dead', 'paused', 'degraded']

function matchesAny(values: string[], want: string, mode: 'regex' | 'prefix' | 'exact'): boolean {
  return values.some(v => (mode === 'exact' ? v === want : mode === 'prefix' ? v.startsWith(want) || new RegExp(want).test(v) : new RegExp(want).test(v)))
}

/** `pod ps --filter KEY=VALUE`, as podman-pod-ps(1) lists them. */
export function podMatches(listed: ListedPod, filter: string): boolean {
  const i = filter.indexOf('=')
  const hint = 'Filters: name=, id=, label=, status=, ctr-names=, ctr-ids=, ctr-status=, ctr-number='
  if (i <= 0) throw new InvalidArgumentError(`invalid filter "${filter}": expected KEY=VALUE`, {hint})
  const key = filter.slice(0, i)
  const value = filter.slice(i + 1)
  const {pod, members} = listed
  switch (key) {
    case 'name':
      return new RegExp(value).test(pod.name)
    case 'id':
      return matchesAny([pod.id], value, 'prefix')
    case 'label': {
      const j = value.indexOf('=')
      return j === -1 ? value in pod.labels : pod.labels[value.slice(0, j)] === value.slice(j + 1)
    }
    case 'status':
      if (!POD_STATUSES.includes(value)) throw new InvalidArgumentError(`invalid filter "${filter}": status must be one of ${POD_STATUSES.join(', ')}`)
      return listed.status.toLowerCase() === value
    case 'ctr-names':
      return matchesAny(members.map(m => m.record.name), value, 'regex')
    case 'ctr-ids':
      return matchesAny(members.map(m => m.record.id), value, 'prefix')
    case 'ctr-status':
      return members.some(m => m.state.status === value)
    case 'ctr-number':
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`invalid filter "${filter}": ctr-number takes a whole number`)
      return members.length === Number(value)
    default:
      throw new InvalidArgumentError(`invalid filter "${key}"`, {hint})
  }
}

/** `pod inspect`. */
export function inspectPod(store: Store, listed: ListedPod) {
  const {pod, members, status} = listed
  const infra = members.find(m => m.record.infra)?.record
  const network = infra ? recordNetwork(infra).settings : undefined
  const described = infra ? describeNetwork(infra) : undefined
  return {
    Id: pod.id,
    Name: pod.name,
    Created: pod.created,
    CreateCommand: pod.createCommand,
    ExitPolicy: pod.exitPolicy,
    State: status,
    Hostname: pod.hostname,
    Labels: pod.labels,
    CreateCgroup: false,
    CgroupParent: '',
    CgroupPath: '',
    CreateInfra: pod.infraId !== undefined,
    InfraContainerID: pod.infraId ?? '',
    InfraConfig: infra
      ? {
          PortBindings: described?.portBindings ?? {},
          HostNetwork: network?.mode === 'host',
          StaticIP: '',
          StaticMAC: '',
          NoManageResolvConf: false,
          DNSServer: null,
          DNSSearch: null,
          DNSOption: null,
          NoManageHosts: false,
          HostAdd: null,
          Networks: null,
          NetworkOptions: null,
          // The infra's own namespaces: tspod never puts a pod in the host's.
          pid_ns: 'private',
          userns: pod.userns ?? 'host',
          uts_ns: 'private',
        }
      : undefined,
    SharedNamespaces: pod.share.length > 0 ? pod.share : null,
    NumContainers: members.length,
    Containers: members.map(m => ({Id: m.record.id, Name: m.record.name, State: m.state.status})),
  }
}
