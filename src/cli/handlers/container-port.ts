import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {latestContainer, lookupContainer} from '../../container/container-store.js'
import {InvalidArgumentError} from '../../errors/index.js'

/** Port publishing comes with the networking work: every container has no mappings yet. */
export default async function containerPort(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  if (flagBool(ctx, 'all')) return 0
  const ref = flagBool(ctx, 'latest') ? latestContainer(engine.store).id : ctx.args[0]
  if (!ref) throw new InvalidArgumentError('you must supply a running container name or ID')
  lookupContainer(engine.store, ref)
  if (ctx.args[1]) {
    ctx.stderr.write(`Error: failed to find published port "${ctx.args[1]}"\n`)
    return 125
  }
  return 0
}
