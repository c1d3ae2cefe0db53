import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {findPod} from '../../pod/pod-store.js'

export default async function podExists(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return findPod(engine.store, ctx.args[0]) ? 0 : 1
}
