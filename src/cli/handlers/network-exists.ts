import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {readNetwork} from '../../network/network-store.js'

export default async function networkExists(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return readNetwork(engine.store, ctx.args[0]) ? 0 : 1
}
