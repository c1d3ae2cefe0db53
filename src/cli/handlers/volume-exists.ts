import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {readVolume} from '../../container/volumes.js'

export default async function volumeExists(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return readVolume(engine.store, ctx.args[0]) ? 0 : 1
}
