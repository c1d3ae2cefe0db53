import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {createVolume} from '../../container/volumes.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {appendEvent} from '../../events/events.js'

function pairs(list: string[]): Record<string, string> {
  return Object.fromEntries(list.map(kv => {
    const i = kv.indexOf('=')
    return i === -1 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)]
  }))
}

export default async function volumeCreate(ctx: CommandContext): Promise<void> {
  const driver = flagString(ctx, 'driver') ?? 'local'
  if (driver !== 'local') throw new InvalidArgumentError(`volume driver "${driver}" is not supported: tspod has the local driver`)
  const engine = await engineFor(ctx)
  const volume = await createVolume(engine.store, ctx.args[0], {labels: pairs(flagList(ctx, 'label')), opts: pairs(flagList(ctx, 'opt')), ignoreExisting: flagBool(ctx, 'ignore')})
  appendEvent(engine.store.runRoot, {Name: volume.Name, Status: 'create', Type: 'volume'})
  ctx.stdout.write(volume.Name + '\n')
}
