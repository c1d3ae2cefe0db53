import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {currentState, isActive, readRecord} from '../../container/container-store.js'
import {startContainer, stopContainer} from '../../container/lifecycle.js'

export default async function containerRestart(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const time = flagString(ctx, 'time')
  let targets = resolveTargets(ctx, engine)
  if (flagBool(ctx, 'all') && flagBool(ctx, 'running')) targets = targets.filter(t => t.id && isActive(currentState(engine.store, t.id)))
  let code = 0
  for (const t of targets) {
    if (!t.id) {
      ctx.stderr.write(`Error: ${t.error?.message}\n`)
      code = 125
      continue
    }
    try {
      await stopContainer(engine, t.id, time === undefined ? undefined : Number(time), {waitForMonitor: true})
      await startContainer(engine, readRecord(engine.store, t.id))
      ctx.stdout.write(`${t.ref}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = 125
    }
  }
  return code
}
