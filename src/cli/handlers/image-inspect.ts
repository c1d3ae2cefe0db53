import {engineFor, lookupOptions} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {findImage} from '../../image/lookup.js'
import {inspectImage} from '../../image/inspect.js'

export default async function imageInspect(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const images = engine.store.readImages()
  const reports = []
  let code = 0
  for (const ref of ctx.args) {
    const image = findImage(images, ref, lookupOptions(engine))
    if (!image) {
      ctx.stderr.write(`Error: ${ref}: image not known\n`)
      code = 125
      continue
    }
    reports.push(inspectImage(engine.store, image))
  }
  const format = flagString(ctx, 'format')
  if (reports.length > 0 || !format) ctx.stdout.write(renderObject(reports, format === 'json' ? undefined : format))
  return code
}
