import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {currentState, readRecord} from '../../container/container-store.js'
import {pauseContainer, unpauseContainer} from '../../container/pause.js'

/** pause and unpause: each target in turn; failures are reported and the rest go on (exit 125 at the end). */
export async function changePauseState(ctx: CommandContext, action: 'pause' | 'unpause'): Promise<number> {
  const engine = await engineFor(ctx)
  let targets = resolveTargets(ctx, engine)
  if (flagBool(ctx, 'all')) {
    const wanted = action === 'pause' ? 'running' : 'paused'
    targets = targets.filter(t => t.id && currentState(engine.store, t.id).status === wanted)
  }
  let code = 0
  for (const t of targets) {
    try {
      if (!t.id) throw t.error
      const record = readRecord(engine.store, t.id)
      await (action === 'pause' ? pauseContainer(engine, record) : unpauseContainer(engine, record))
      ctx.stdout.write(`${t.ref}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      const hint = (err as {hint?: string}).hint
      if (hint) ctx.stderr.write(`${hint}\n`)
      code = 125
    }
  }
  return code
}

export default function containerPause(ctx: CommandContext): Promise<number> {
  return changePauseState(ctx, 'pause')
}
