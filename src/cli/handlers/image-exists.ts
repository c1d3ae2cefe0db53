import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'
import {findImage} from '../../image/lookup.js'

export default async function imageExists(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return findImage(engine.store.readImages(), ctx.args[0], {...lookupOptions(engine), manifestList: true}) ? 0 : 1
}
