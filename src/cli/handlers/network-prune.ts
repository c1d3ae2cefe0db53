import {engineFor} from '../engine.js'
import {flagBool, flagList, type CommandContext} from '../context.js'
import {confirm} from '../prompt.js'
import {pruneNetworks} from '../../network/user-networks.js'

export default async function networkPrune(ctx: CommandContext): Promise<number> {
  if (!flagBool(ctx, 'force') && !(await confirm(ctx, 'WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) return 0
  const engine = await engineFor(ctx)
  for (const name of await pruneNetworks(engine, flagList(ctx, 'filter'))) ctx.stdout.write(name + '\n')
  return 0
}
