import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {removeVolume} from '../../container/volume-ops.js'
import {listVolumes} from '../../container/volumes.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {appendEvent} from '../../events/events.js'

export default async function volumeRm(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const all = flagBool(ctx, 'all')
  if (!all && ctx.args.length === 0) throw new InvalidArgumentError('choose either one or more volumes or all')
  const names = all ? listVolumes(engine.store).map(v => v.Name) : ctx.args
  let code = 0
  for (const name of names) {
    try {
      await removeVolume(engine, name, {force: flagBool(ctx, 'force')})
      appendEvent(engine.store.runRoot, {Name: name, Status: 'remove', Type: 'volume'})
      ctx.stdout.write(name + '\n')
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = /no such volume/.test((err as Error).message) ? Math.max(code, 1) : /being used/.test((err as Error).message) ? Math.max(code, 2) : 125
    }
  }
  return code
}
