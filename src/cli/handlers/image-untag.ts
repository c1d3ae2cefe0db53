import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'
import {untagImage} from '../../image/images.js'
import {appendEvent} from '../../events/events.js'

export default async function imageUntag(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const [image, ...names] = ctx.args
  await untagImage(engine.store, image, names, lookupOptions(engine))
  appendEvent(engine.store.runRoot, {ID: image, Name: names.join(','), Status: 'untag', Type: 'image'})
}
