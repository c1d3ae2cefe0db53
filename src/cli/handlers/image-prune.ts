import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagList, type CommandContext} from '../context.js'
import {confirm} from '../prompt.js'
import {pruneImages} from '../../image/images.js'
import {appendEvent} from '../../events/events.js'

export default async function imagePrune(ctx: CommandContext): Promise<number> {
  const all = flagBool(ctx, 'all')
  if (!flagBool(ctx, 'force')) {
    const what = all ? 'all images not used by any container' : 'all dangling images'
    if (!(await confirm(ctx, `WARNING! This command removes ${what}.\nAre you sure you want to continue? [y/N] `))) return 0
  }
  const engine = await engineFor(ctx)
  const report = await pruneImages(engine.store, {...lookupOptions(engine), all, filters: flagList(ctx, 'filter')})
  for (const id of report.deleted) ctx.stdout.write(id + '\n')
  for (const id of report.deleted) appendEvent(engine.store.runRoot, {ID: id, Status: 'remove', Type: 'image'})
  return 0
}
