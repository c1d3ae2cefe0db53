import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {currentState, isActive} from '../../container/container-store.js'
import {stopContainer} from '../../container/lifecycle.js'
import {InvalidArgumentError} from '../../errors/index.js'

export default async function containerStop(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const time = flagString(ctx, 'time')
  if (time !== undefined && !/^\d+$/.test(time)) throw new InvalidArgumentError(`invalid argument "${time}" for "--time" flag: a whole number of seconds`)
  let targets = resolveTargets(ctx, engine)
  if (flagBool(ctx, 'all')) targets = targets.filter(t => t.id && isActive(currentState(engine.store, t.id)))
  let code = 0
  await Promise.all(targets.map(async t => {
    if (!t.id) {
      if (flagBool(ctx, 'ignore')) return
      ctx.stderr.write(`Error: ${t.error?.message}\n`)
      code = 125
      return
    }
    try {
      await stopContainer(engine, t.id, time === undefined ? undefined : Number(time))
      ctx.stdout.write(`${t.ref}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = 125
    }
  }))
  return code
}
