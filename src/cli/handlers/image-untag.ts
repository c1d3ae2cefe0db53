import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'
import {untagImage} from '../../image/images.js'

export default async function imageUntag(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const [image, ...names] = ctx.args
  await untagImage(engine.store, image, names, lookupOptions(engine))
}
