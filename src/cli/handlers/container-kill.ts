import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {currentState, isActive, readRecord, readState, writeState} from '../../container/container-store.js'
import {signalContainer} from '../../container/lifecycle.js'
import {appendContainerEvent} from '../../events/events.js'
import {parseSignal} from '../../container/signals.js'

export default async function containerKill(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const signal = parseSignal(flagString(ctx, 'signal') ?? 'KILL')
  let targets = resolveTargets(ctx, engine)
  if (flagBool(ctx, 'all')) targets = targets.filter(t => t.id && isActive(currentState(engine.store, t.id)))
  let code = 0
  for (const t of targets) {
    if (!t.id) {
      ctx.stderr.write(`Error: ${t.error?.message}\n`)
      code = 125
      continue
    }
    const record = readRecord(engine.store, t.id)
    if (!isActive(currentState(engine.store, t.id))) {
      ctx.stderr.write(`Error: can only kill running containers. ${t.id} is in state ${currentState(engine.store, t.id).status}: container state improper\n`)
      code = 125
      continue
    }
    if (signal === 9 || signal === 15) await writeState(engine.store, t.id, {...readState(engine.store, t.id), stoppedByUser: true})
    await signalContainer(engine, record, signal)
    appendContainerEvent(engine.store.runRoot, record, 'kill', {signal: String(signal)})
    ctx.stdout.write(`${t.ref}\n`)
  }
  return code
}
