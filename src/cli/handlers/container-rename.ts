import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {renameContainer} from '../../container/container-store.js'

export default async function containerRename(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  await renameContainer(engine.store, ctx.args[0], ctx.args[1])
}
