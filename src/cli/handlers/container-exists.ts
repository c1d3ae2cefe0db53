import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {findContainer} from '../../container/container-store.js'

export default async function containerExists(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return findContainer(engine.store, ctx.args[0]) ? 0 : 1
}
