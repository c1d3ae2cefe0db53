import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {listVolumes} from '../../container/volumes.js'
import {volumeMatches} from '../../container/volume-ops.js'

export default async function volumeList(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const filters = flagList(ctx, 'filter')
  const volumes = listVolumes(engine.store).filter(v => volumeMatches(v.Labels, filters, v.Name))
  if (flagBool(ctx, 'quiet')) {
    for (const v of volumes) ctx.stdout.write(v.Name + '\n')
    return
  }
  const format = flagString(ctx, 'format')
  if (format === 'json') {
    ctx.stdout.write(JSON.stringify(volumes, null, 4) + '\n')
    return
  }
  ctx.stdout.write(renderRows(volumes, {format, noHeading: flagBool(ctx, 'noheading'), defaultColumns: [{header: 'DRIVER', field: 'Driver'}, {header: 'VOLUME NAME', field: 'Name'}]}))
}
