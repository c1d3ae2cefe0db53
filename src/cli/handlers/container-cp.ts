import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {copyPaths} from '../../container/copy.js'
import {warn} from '../../util/log.js'

/** Runs inside tspod's user namespace (the dispatcher re-executed us there). */
export default async function containerCp(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  await copyPaths(engine, ctx.args[0]!, ctx.args[1]!, {
    archive: ctx.flags.archive !== false,
    overwrite: flagBool(ctx, 'overwrite'),
    onWarning: warn,
  })
}
