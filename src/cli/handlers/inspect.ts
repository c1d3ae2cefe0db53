import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {currentState, findContainer, latestContainer, readRecord} from '../../container/container-store.js'
import {inspectContainer} from '../../container/report.js'
import {readVolume} from '../../container/volumes.js'
import {findImage} from '../../image/lookup.js'
import {inspectImage} from '../../image/inspect.js'

/** Podman's `inspect`: each name is looked up as a container, then an image, then a volume (or as --type says). */
export default async function inspect(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const type = flagString(ctx, 'type') ?? 'all'
  const refs = flagBool(ctx, 'latest') ? [latestContainer(engine.store).id] : ctx.args
  const reports: unknown[] = []
  let code = 0
  for (const ref of refs) {
    if (type === 'all' || type === 'container') {
      const entry = findContainer(engine.store, ref)
      if (entry) {
        reports.push(inspectContainer(engine.store, readRecord(engine.store, entry.id), currentState(engine.store, entry.id)))
        continue
      }
    }
    if (type === 'all' || type === 'image') {
      const image = findImage(engine.store.readImages(), ref, lookupOptions(engine))
      if (image) {
        reports.push(inspectImage(engine.store, image))
        continue
      }
    }
    if (type === 'all' || type === 'volume') {
      const volume = readVolume(engine.store, ref)
      if (volume) {
        reports.push(volume)
        continue
      }
    }
    ctx.stderr.write(`Error: no such object: "${ref}"\n`)
    code = 125
  }
  const format = flagString(ctx, 'format')
  if (reports.length > 0 || !format) ctx.stdout.write(renderObject(reports, format === 'json' ? undefined : format))
  return code
}
