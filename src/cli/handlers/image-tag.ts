import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'
import {tagImage} from '../../image/images.js'
import {appendEvent} from '../../events/events.js'

export default async function imageTag(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const [image, ...targets] = ctx.args
  await tagImage(engine.store, image, targets, lookupOptions(engine))
  for (const target of targets) appendEvent(engine.store.runRoot, {ID: image, Name: target, Status: 'tag', Type: 'image'})
}
