import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {listVolumes, readVolume, type VolumeRecord} from '../../container/volumes.js'

export default async function volumeInspect(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const found: VolumeRecord[] = []
  let code = 0
  if (flagBool(ctx, 'all')) found.push(...listVolumes(engine.store))
  for (const name of ctx.args) {
    const v = readVolume(engine.store, name)
    if (v) found.push(v)
    else {
      ctx.stderr.write(`Error: no such volume ${name}\n`)
      code = 125
    }
  }
  const format = flagString(ctx, 'format')
  if (found.length > 0 || !format) ctx.stdout.write(renderObject(found, format === 'json' ? undefined : format))
  return code
}
