import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {readContainerIndex, readRecord, type ContainerIndexEntry} from '../../container/container-store.js'
import {summarize, type ListedContainer} from '../../container/report.js'
import {readPodIndex} from '../../pod/pod-store.js'
import {describeNetwork, recordNetwork} from '../../network/backend.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {Store} from '../../storage/store.js'
import {formatSize, formatTimeAgo} from '../../util/units.js'

function matches(c: ListedContainer, filter: string): boolean {
  const i = filter.indexOf('=')
  if (i === -1) throw new InvalidArgumentError(`invalid filter "${filter}": expected KEY=VALUE`, {hint: 'Filters: name=, status=, label=, ancestor=, id=, exited=, pod='})
  const key = filter.slice(0, i)
  const value = filter.slice(i + 1)
  switch (key) {
    case 'name':
      return new RegExp(value).test(c.record.name)
    case 'status':
      if (!['created', 'running', 'paused', 'stopping', 'exited', 'removing', 'stopped', 'unknown'].includes(value)) {
        throw new InvalidArgumentError(`invalid filter "${filter}": status must be one of created, running, paused, stopping, exited, unknown`)
      }
      return c.state.status === value || (value === 'stopped' && c.state.status === 'exited')
    case 'label': {
      const j = value.indexOf('=')
      return j === -1 ? value in c.record.labels : c.record.labels[value.slice(0, j)] === value.slice(j + 1)
    }
    case 'ancestor':
      return c.record.image.startsWith(value) || c.record.imageName === value || c.record.imageName.endsWith(`/${value}`) || c.record.imageName.endsWith(`/${value}:latest`) || c.record.imageName.split(':')[0].endsWith(`/${value}`)
    case 'id':
      return c.record.id.startsWith(value)
    case 'exited':
      return c.state.status === 'exited' && String(c.state.exitCode) === value
    case 'pod':
      return c.summary.Pod !== '' && (c.summary.PodName === value || c.summary.Pod.startsWith(value))
    default:
      throw new InvalidArgumentError(`invalid filter "${key}"`, {hint: 'Filters: name=, status=, label=, ancestor=, id=, exited=, pod='})
  }
}

export default async function containerList(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const {store} = engine
  let entries: ContainerIndexEntry[] = readContainerIndex(store)
  entries.sort((a, b) => Date.parse(b.created) - Date.parse(a.created))
  const last = flagString(ctx, 'last')
  const limit = flagBool(ctx, 'latest') ? 1 : last !== undefined ? Number(last) : undefined
  const all = flagBool(ctx, 'all') || limit !== undefined
  let listed = entries.map(e => summarize(store, e)).filter((c): c is ListedContainer => c !== undefined)
  const podNames = new Map(readPodIndex(store).map(p => [p.id, p.name]))
  for (const c of listed) if (c.record.pod) Object.assign(c.summary, {Pod: c.record.pod, PodName: podNames.get(c.record.pod) ?? '', IsInfra: c.record.infra === true})
  // As Podman: a container in a pod's network shows the pod's ports, which its infra container publishes.
  const networkOwner = (c: ListedContainer) => {
    const joined = c.record.pod ? recordNetwork(c.record).settings.container : undefined
    if (!joined) return c.record
    const owner = listed.find(o => o.record.id === joined)?.record
    if (owner) return owner
    try {
      return readRecord(store, joined)
    } catch {
      return c.record // removed meanwhile
    }
  }
  for (const c of listed) if (c.record.pod && !c.record.infra) c.summary.Ports = describeNetwork(networkOwner(c)).psPorts
  if (!all) listed = listed.filter(c => c.state.status === 'running' || c.state.status === 'paused' || c.state.status === 'stopping')
  for (const f of flagList(ctx, 'filter')) listed = listed.filter(c => matches(c, f))
  if (limit !== undefined && limit >= 0) listed = listed.slice(0, limit)
  const sort = flagString(ctx, 'sort') ?? 'created'
  const key: Record<string, (c: ListedContainer) => string | number> = {
    created: c => -Date.parse(c.record.created),
    id: c => c.record.id,
    image: c => c.record.imageName,
    names: c => c.record.name,
    command: c => c.record.args.join(' '),
    status: c => c.summary.Status,
    runningfor: c => -Date.parse(c.record.created),
    size: c => 0,
  }
  if (!key[sort]) throw new InvalidArgumentError(`invalid option for --sort, options are: command, created, id, image, names, runningfor, size, or status`)
  listed.sort((a, b) => {
    const x = key[sort](a)
    const y = key[sort](b)
    return x < y ? -1 : x > y ? 1 : 0
  })
  const noTrunc = flagBool(ctx, 'no-trunc')
  if (flagBool(ctx, 'quiet')) {
    for (const c of listed) ctx.stdout.write((noTrunc ? c.record.id : c.record.id.slice(0, 12)) + '\n')
    return
  }
  const format = flagString(ctx, 'format')
  const withSize = flagBool(ctx, 'size')
  const sizes = new Map<string, number>()
  if (withSize) {
    for (const c of listed) sizes.set(c.record.id, await Store.diskUsage(`${store.graphRoot}/containers/${c.record.id}/diff`))
  }
  if (format === 'json') {
    ctx.stdout.write(JSON.stringify(listed.map(c => ({...c.summary, Size: withSize ? {rootFsSize: 0, rwSize: sizes.get(c.record.id) ?? 0} : null})), null, 4) + '\n')
    return
  }
  const rows = listed.map(c => {
    const command = c.record.args.join(' ')
    return {
      ...c.summary,
      ID: noTrunc ? c.record.id : c.record.id.slice(0, 12),
      Image: c.record.imageName,
      Command: noTrunc || command.length <= 20 ? command : command.slice(0, 17) + '...',
      Created: formatTimeAgo(new Date(c.record.created)),
      CreatedHuman: formatTimeAgo(new Date(c.record.created)),
      RunningFor: formatTimeAgo(new Date(c.record.created)),
      Status: c.summary.Status,
      Ports: describeNetwork(networkOwner(c)).column,
      Names: c.record.name,
      Labels: c.record.labels,
      Size: withSize ? formatSize(sizes.get(c.record.id) ?? 0) : '',
      PodID: noTrunc ? c.summary.Pod : c.summary.Pod.slice(0, 12),
    }
  })
  const columns = [
    {header: 'CONTAINER ID', field: 'ID'},
    {header: 'IMAGE', field: 'Image'},
    {header: 'COMMAND', field: 'Command'},
    {header: 'CREATED', field: 'Created'},
    {header: 'STATUS', field: 'Status'},
    {header: 'PORTS', field: 'Ports'},
    {header: 'NAMES', field: 'Names'},
    ...(withSize ? [{header: 'SIZE', field: 'Size'}] : []),
    ...(flagBool(ctx, 'pod') ? [{header: 'POD ID', field: 'PodID'}, {header: 'PODNAME', field: 'PodName'}] : []),
  ]
  ctx.stdout.write(renderRows(rows, {format, defaultColumns: columns, noHeading: flagBool(ctx, 'noheading')}))
}
