import {engineFor} from '../engine.js'
import {flagBool, flagList, type CommandContext} from '../context.js'
import {confirm} from '../prompt.js'
import {pruneContainers} from '../../container/cleanup.js'

export default async function containerPrune(ctx: CommandContext): Promise<number> {
  if (!flagBool(ctx, 'force') && !(await confirm(ctx, 'WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] '))) return 0
  const engine = await engineFor(ctx)
  for (const id of await pruneContainers(engine, flagList(ctx, 'filter'))) ctx.stdout.write(id + '\n')
  return 0
}
