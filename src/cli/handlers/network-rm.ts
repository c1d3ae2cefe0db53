import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {removeContainer} from '../../container/lifecycle.js'
import {appendEvent} from '../../events/events.js'
import {TspodError} from '../../errors/index.js'
import {removeNetwork} from '../../network/user-networks.js'

/** Exit codes as podman-network-rm(1): 1 when a network does not exist, 2 when one is in use (without -f). */
export default async function networkRm(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const time = flagString(ctx, 'time')
  let code = 0
  for (const name of ctx.args) {
    try {
      const removed = await removeNetwork(engine, name, {
        force: flagBool(ctx, 'force'),
        removeContainer: id => removeContainer(engine, id, {force: true, timeoutSeconds: time === undefined ? undefined : Number(time)}),
      })
      appendEvent(engine.store.runRoot, {Name: removed, Status: 'remove', Type: 'network'})
      ctx.stdout.write(removed + '\n')
    } catch (err) {
      const message = (err as Error).message
      ctx.stderr.write(`Error: ${message}\n`)
      if (err instanceof TspodError && err.hint) ctx.stderr.write(`${err.hint}\n`)
      code = Math.max(code, /network not found/.test(message) ? 1 : err instanceof TspodError && err.exitCode === 2 ? 2 : 125)
    }
  }
  return code
}
