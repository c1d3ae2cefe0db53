import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {generateQuadletUnits} from '../../systemd/quadlet.js'
import {collectQuadletSources, quadletSearchDirs} from '../../systemd/quadlet-files.js'
import {tspodExecutable} from '../../systemd/quadlet-output.js'

export default async function quadletList(ctx: CommandContext): Promise<number> {
  const user = (process.getuid?.() ?? 0) !== 0
  const sources = collectQuadletSources(quadletSearchDirs(user))
  const {units, errors} = generateQuadletUnits(sources, {tspod: tspodExecutable()})
  const rows = sources.map(s => {
    const unit = units.find(u => u.source === s.path)
    const error = errors.find(e => e.message.startsWith(`${s.path}:`))
    return {Name: s.path.slice(s.path.lastIndexOf('/') + 1), Unit: unit?.name ?? '-', Status: error ? `error: ${error.message.slice(s.path.length + 1)}` : 'ok', Path: s.path}
  })
  const format = flagString(ctx, 'format')
  if (format === 'json') ctx.stdout.write(JSON.stringify(rows, null, 4) + '\n')
  else {
    ctx.stdout.write(renderRows(rows, {
      format,
      noHeading: flagBool(ctx, 'noheading'),
      defaultColumns: [{header: 'NAME', field: 'Name'}, {header: 'UNIT', field: 'Unit'}, {header: 'STATUS', field: 'Status'}, {header: 'PATH', field: 'Path'}],
    }))
  }
  return errors.length > 0 ? 1 : 0
}
