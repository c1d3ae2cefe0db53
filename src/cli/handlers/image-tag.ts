import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'
import {tagImage} from '../../image/images.js'

export default async function imageTag(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const [image, ...targets] = ctx.args
  await tagImage(engine.store, image, targets, lookupOptions(engine))
}
