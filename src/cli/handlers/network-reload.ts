import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {lookupContainer} from '../../container/container-store.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {reloadContainerNetworks} from '../../network/user-networks.js'

export default async function networkReload(ctx: CommandContext): Promise<void> {
  const all = flagBool(ctx, 'all')
  if (!all && ctx.args.length === 0) throw new InvalidArgumentError('network reload: give containers or --all', {hint: 'tspod network reload --all reloads every running container'})
  const engine = await engineFor(ctx)
  const ids = all ? undefined : ctx.args.map(ref => lookupContainer(engine.store, ref).id)
  for (const id of await reloadContainerNetworks(engine, ids)) ctx.stdout.write(id + '\n')
}
