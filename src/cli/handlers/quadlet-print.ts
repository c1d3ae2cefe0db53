import {flagBool, type CommandContext} from '../context.js'
import {TspodError} from '../../errors/index.js'
import {generateQuadletUnits} from '../../systemd/quadlet.js'
import {collectQuadletSources, quadletSearchDirs} from '../../systemd/quadlet-files.js'
import {tspodExecutable} from '../../systemd/quadlet-output.js'

export default async function quadletPrint(ctx: CommandContext): Promise<void> {
  const user = (process.getuid?.() ?? 0) !== 0
  const name = ctx.args[0]!
  const sources = collectQuadletSources(quadletSearchDirs(user))
  const {units, errors} = generateQuadletUnits(sources, {tspod: tspodExecutable()})
  const source = sources.find(s => s.path.endsWith(`/${name}`)) ?? sources.find(s => units.find(u => u.name === name)?.source === s.path)
  if (!source) throw new TspodError(`no Quadlet file or unit named ${name}`, {hint: 'List them with `tspod quadlet list`'})
  if (!flagBool(ctx, 'unit')) {
    ctx.stdout.write(source.text)
    return
  }
  const unit = units.find(u => u.source === source.path)
  if (!unit) {
    const error = errors.find(e => e.message.startsWith(`${source.path}:`))
    throw error ?? new TspodError(`${name} generates no unit`)
  }
  ctx.stdout.write(unit.text)
}
