import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {cleanupContainer} from '../../container/cleanup.js'
import {teardownContainerNetworks} from '../../network/user-networks.js'

/** What the monitor runs when a container exits: restart policy, detached --rm. */
export default async function containerCleanup(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  let code = 0
  for (const t of resolveTargets(ctx, engine)) {
    if (!t.id) {
      // Already out of the index (run --rm): its networks, kept under the run root, are still to undo.
      if (/^[0-9a-f]{64}$/.test(t.ref)) await teardownContainerNetworks(engine, t.ref).catch(() => {})
      continue
    }
    try {
      await cleanupContainer(engine, t.id, {rm: flagBool(ctx, 'rm')})
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = 125
    }
  }
  return code
}
