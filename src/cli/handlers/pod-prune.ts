import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {confirm} from '../prompt.js'
import {prunePods} from '../../pod/pods.js'

export default async function podPrune(ctx: CommandContext): Promise<number> {
  if (!flagBool(ctx, 'force') && !(await confirm(ctx, 'WARNING! This will remove all stopped/exited pods..\nAre you sure you want to continue? [y/N] '))) return 0
  const engine = await engineFor(ctx)
  for (const id of await prunePods(engine)) ctx.stdout.write(id + '\n')
  return 0
}
