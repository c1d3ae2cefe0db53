import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {alignColumns} from '../format.js'
import {latestContainer, lookupContainer, readRecord} from '../../container/container-store.js'
import {topContainer} from '../../container/top.js'
import {InvalidArgumentError} from '../../errors/index.js'

export default async function containerTop(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const latest = flagBool(ctx, 'latest')
  const [ref, ...descriptors] = latest ? ['', ...ctx.args] : ctx.args
  if (!latest && ref === undefined) {
    throw new InvalidArgumentError('you must provide the name or ID of a running container or use --latest', {hint: `See '${ctx.commandLine} --help'`})
  }
  const entry = latest ? latestContainer(engine.store) : lookupContainer(engine.store, ref!)
  const rows = topContainer(engine, readRecord(engine.store, entry.id), descriptors)
  ctx.stdout.write(alignColumns(rows) + '\n')
  return 0
}
