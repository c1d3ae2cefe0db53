import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {listImages} from '../../image/images.js'
import {repositoryOf, tagOf} from '../../image/lookup.js'
import {formatSize, formatTimeAgo} from '../../util/units.js'

/** Podman's df prints sizes without the space its image table has: `4.26MB`. */
const compact = (n: number) => formatSize(n).replace(' ', '')

function reclaimable(size: number, total: number): string {
  return `${compact(size)} (${total === 0 ? 0 : Math.round((size / total) * 100)}%)`
}

export default async function systemDf(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const images = listImages(engine.store, {all: true})
  const containers = engine.store.readContainerRefs()
  // Layers shared between images count once.
  const layerSizes = new Map<string, number>()
  for (const record of engine.store.readImages()) {
    for (const l of record.layers) {
      if (layerSizes.has(l)) continue
      try {
        layerSizes.set(l, engine.store.readLayer(l).size)
      } catch {
        layerSizes.set(l, 0)
      }
    }
  }
  const total = [...layerSizes.values()].reduce((a, b) => a + b, 0)
  const active = images.filter(i => i.Containers > 0)
  const unused = images.filter(i => i.Containers === 0).reduce((n, i) => n + i.Size, 0)
  const format = flagString(ctx, 'format')
  if (flagBool(ctx, 'verbose')) {
    ctx.stdout.write('Images space usage:\n\n')
    const rows = images.map(i => ({
      Repository: i.Names ? repositoryOf(i.Names[0]) : '<none>',
      Tag: i.Names ? tagOf(i.Names[0]) : '<none>',
      ID: i.Id.slice(0, 12),
      Created: formatTimeAgo(new Date(i.Created * 1000)),
      Size: compact(i.Size),
      SharedSize: compact(i.SharedSize),
      UniqueSize: compact(i.Size - i.SharedSize),
      Containers: String(i.Containers),
    }))
    ctx.stdout.write(renderRows(rows, {defaultColumns: [
      {header: 'REPOSITORY', field: 'Repository'}, {header: 'TAG', field: 'Tag'}, {header: 'IMAGE ID', field: 'ID'},
      {header: 'CREATED', field: 'Created'}, {header: 'SIZE', field: 'Size'}, {header: 'SHARED SIZE', field: 'SharedSize'},
      {header: 'UNIQUE SIZE', field: 'UniqueSize'}, {header: 'CONTAINERS', field: 'Containers'},
    ]}))
    ctx.stdout.write('\nContainers space usage:\n\n')
    ctx.stdout.write(renderRows([], {defaultColumns: [
      {header: 'CONTAINER ID', field: 'ID'}, {header: 'IMAGE', field: 'Image'}, {header: 'COMMAND', field: 'Command'},
      {header: 'LOCAL VOLUMES', field: 'Volumes'}, {header: 'SIZE', field: 'Size'}, {header: 'CREATED', field: 'Created'},
      {header: 'STATUS', field: 'Status'}, {header: 'NAMES', field: 'Names'},
    ]}))
    ctx.stdout.write('\nLocal Volumes space usage:\n\n')
    ctx.stdout.write(renderRows([], {defaultColumns: [{header: 'VOLUME NAME', field: 'Name'}, {header: 'LINKS', field: 'Links'}, {header: 'SIZE', field: 'Size'}]}))
    return
  }
  const rows = [
    {Type: 'Images', Total: images.length, Active: active.length, RawSize: total, RawReclaimable: unused, Size: compact(total), Reclaimable: reclaimable(unused, total)},
    {Type: 'Containers', Total: containers.length, Active: 0, RawSize: 0, RawReclaimable: 0, Size: compact(0), Reclaimable: reclaimable(0, 0)},
    {Type: 'Local Volumes', Total: 0, Active: 0, RawSize: 0, RawReclaimable: 0, Size: compact(0), Reclaimable: reclaimable(0, 0)},
  ]
  if (format === 'json') {
    ctx.stdout.write(JSON.stringify(rows.map(r => ({Type: r.Type, Total: r.Total, Active: r.Active, RawSize: r.RawSize, RawReclaimable: r.RawReclaimable, TotalCount: r.Total, Size: r.Size, Reclaimable: r.Reclaimable})), null, 4) + '\n')
    return
  }
  ctx.stdout.write(renderRows(rows, {format, defaultColumns: [
    {header: 'TYPE', field: 'Type'}, {header: 'TOTAL', field: 'Total'}, {header: 'ACTIVE', field: 'Active'},
    {header: 'SIZE', field: 'Size'}, {header: 'RECLAIMABLE', field: 'Reclaimable'},
  ]}))
}
