import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {renderRows, type Column} from '../format.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {describePod, podMatches, podSummary, type ListedPod} from '../../pod/pod-report.js'
import {readPod, readPodIndex} from '../../pod/pod-store.js'
import {formatTimeAgo} from '../../util/units.js'

const SORT_KEYS: Record<string, (p: ListedPod) => string | number> = {
  created: p => -Date.parse(p.pod.created),
  id: p => p.pod.id,
  name: p => p.pod.name,
  number: p => p.members.length,
  status: p => p.status,
}

export default async function podList(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const {store} = engine
  const sort = flagString(ctx, 'sort') ?? 'created'
  if (!SORT_KEYS[sort]) throw new InvalidArgumentError(`invalid option for --sort, options are: created, id, name, number, or status`)
  let listed: ListedPod[] = []
  for (const entry of readPodIndex(store)) {
    try {
      listed.push(describePod(store, readPod(store, entry.id)))
    } catch {
      // removed meanwhile
    }
  }
  for (const f of flagList(ctx, 'filter')) listed = listed.filter(p => podMatches(p, f))
  listed.sort((a, b) => {
    const x = SORT_KEYS[sort](a)
    const y = SORT_KEYS[sort](b)
    return x < y ? -1 : x > y ? 1 : 0
  })
  if (flagBool(ctx, 'latest')) listed = [...listed].sort((a, b) => Date.parse(b.pod.created) - Date.parse(a.pod.created)).slice(0, 1)
  const noTrunc = flagBool(ctx, 'no-trunc')
  const id = (value: string) => (noTrunc ? value : value.slice(0, 12))
  if (flagBool(ctx, 'quiet')) {
    for (const p of listed) ctx.stdout.write(id(p.pod.id) + '\n')
    return
  }
  const format = flagString(ctx, 'format')
  if (format?.trim() === 'json') {
    ctx.stdout.write(JSON.stringify(listed.map(podSummary), null, 4) + '\n')
    return
  }
  const rows = listed.map(p => ({
    ...podSummary(p),
    ID: id(p.pod.id),
    Created: formatTimeAgo(new Date(p.pod.created)),
    InfraID: p.pod.infraId ? id(p.pod.infraId) : '',
    NumberOfContainers: p.members.length,
    ContainerIds: p.members.map(m => id(m.record.id)).join(','),
    ContainerNames: p.members.map(m => m.record.name).join(','),
    ContainerStatuses: p.members.map(m => m.state.status).join(','),
    Networks: '',
  }))
  const ctrColumns: Column[] = [
    ...(flagBool(ctx, 'ctr-ids') ? [{header: 'IDS', field: 'ContainerIds'}] : []),
    ...(flagBool(ctx, 'ctr-names') ? [{header: 'NAMES', field: 'ContainerNames'}] : []),
    ...(flagBool(ctx, 'ctr-status') ? [{header: 'STATUS', field: 'ContainerStatuses'}] : []),
  ]
  const columns: Column[] = [
    {header: 'POD ID', field: 'ID'},
    {header: 'NAME', field: 'Name'},
    {header: 'STATUS', field: 'Status'},
    {header: 'CREATED', field: 'Created'},
    {header: 'INFRA ID', field: 'InfraID'},
    // As Podman: the container columns replace the count.
    ...(ctrColumns.length > 0 ? ctrColumns : [{header: '# OF CONTAINERS', field: 'NumberOfContainers'}]),
  ]
  ctx.stdout.write(renderRows(rows, {format, defaultColumns: columns, noHeading: flagBool(ctx, 'noheading')}))
}
