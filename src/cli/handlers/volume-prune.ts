import {engineFor} from '../engine.js'
import {flagBool, flagList, type CommandContext} from '../context.js'
import {confirm} from '../prompt.js'
import {pruneVolumes} from '../../container/volume-ops.js'
import {appendEvent} from '../../events/events.js'

export default async function volumePrune(ctx: CommandContext): Promise<number> {
  if (!flagBool(ctx, 'force') && !(await confirm(ctx, 'WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\nAre you sure you want to continue? [y/N] '))) return 0
  const engine = await engineFor(ctx)
  for (const name of await pruneVolumes(engine, flagList(ctx, 'filter'))) {
    appendEvent(engine.store.runRoot, {Name: name, Status: 'remove', Type: 'volume'})
    ctx.stdout.write(name + '\n')
  }
  return 0
}
