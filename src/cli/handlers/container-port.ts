import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {currentState, isActive, latestContainer, lookupContainer, readContainerIndex, readRecord} from '../../container/container-store.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {recordNetwork} from '../../network/backend.js'
import {findPublished, formatPortLines} from '../../network/ports.js'

/** `tspod port`: the published ports of a container, or of every running one with --all. */
export default async function containerPort(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const {store} = engine
  if (flagBool(ctx, 'all')) {
    if (ctx.args.length > 0) throw new InvalidArgumentError('no arguments are needed with --all')
    for (const entry of readContainerIndex(store)) {
      if (!isActive(currentState(store, entry.id))) continue
      const {ports} = recordNetwork(readRecord(store, entry.id))
      if (ports.length === 0) continue
      ctx.stdout.write(`${entry.id}\n${formatPortLines(ports).map(l => `${l}\n`).join('')}`)
    }
    return 0
  }
  const ref = flagBool(ctx, 'latest') ? latestContainer(store).id : ctx.args[0]
  if (!ref) throw new InvalidArgumentError('you must supply a running container name or ID')
  const {ports} = recordNetwork(readRecord(store, lookupContainer(store, ref).id))
  const filter = flagBool(ctx, 'latest') ? ctx.args[0] : ctx.args[1]
  if (filter === undefined) {
    ctx.stdout.write(formatPortLines(ports).map(l => `${l}\n`).join(''))
    return 0
  }
  const found = findPublished(ports, filter)
  if (found === undefined) throw new InvalidArgumentError(`invalid port "${filter}": expected PORT or PORT/PROTOCOL`)
  if (found.length === 0) {
    const key = filter.includes('/') ? filter : `${filter}/tcp`
    ctx.stderr.write(`Error: failed to find published port "${key}"\n`)
    return 125
  }
  ctx.stdout.write(found.map(l => `${l}\n`).join(''))
  return 0
}
