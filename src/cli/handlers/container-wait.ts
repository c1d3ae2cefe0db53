import {setTimeout as sleep} from 'node:timers/promises'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {currentState, findContainer} from '../../container/container-store.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {parseTime} from './container-logs.js'

const CONDITIONS = ['configured', 'created', 'exited', 'paused', 'running', 'stopped', 'stopping', 'healthy', 'unhealthy']

export default async function containerWait(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const conditions = flagList(ctx, 'condition')
  for (const c of conditions) if (!CONDITIONS.includes(c)) throw new InvalidArgumentError(`invalid condition "${c}": use one of ${CONDITIONS.join(', ')}`)
  const wanted = conditions.length > 0 ? conditions : ['stopped']
  const intervalText = flagString(ctx, 'interval') ?? '250ms'
  const interval = /^\d+$/.test(intervalText) ? Number(intervalText) : Date.now() - parseTime(intervalText)
  let code = 0
  for (const target of resolveTargets(ctx, engine)) {
    if (!target.id) {
      if (flagBool(ctx, 'ignore')) {
        ctx.stdout.write('-1\n')
        continue
      }
      ctx.stderr.write(`Error: ${target.error?.message}\n`)
      code = 125
      continue
    }
    for (;;) {
      if (!findContainer(engine.store, target.id)) {
        // removed while we waited (--rm): Podman reports the exit code it saw last
        ctx.stdout.write('0\n')
        break
      }
      const state = currentState(engine.store, target.id)
      const status = state.status === 'exited' ? ['exited', 'stopped'] : [state.status]
      if (wanted.some(w => status.includes(w))) {
        ctx.stdout.write(`${state.status === 'exited' ? state.exitCode ?? 0 : -1}\n`)
        break
      }
      await sleep(Math.min(interval, 100))
    }
  }
  return code
}
