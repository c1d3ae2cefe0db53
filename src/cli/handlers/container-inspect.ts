import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {currentState, findContainer, latestContainer, readRecord} from '../../container/container-store.js'
import {inspectContainer} from '../../container/report.js'

export default async function containerInspect(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const refs = flagBool(ctx, 'latest') ? [latestContainer(engine.store).id] : ctx.args
  const reports = []
  let code = 0
  for (const ref of refs) {
    const entry = findContainer(engine.store, ref)
    if (!entry) {
      ctx.stderr.write(`Error: no such container ${ref}\n`)
      code = 125
      continue
    }
    reports.push(inspectContainer(engine.store, readRecord(engine.store, entry.id), currentState(engine.store, entry.id)))
  }
  const format = flagString(ctx, 'format')
  if (reports.length > 0 || !format) ctx.stdout.write(renderObject(reports, format === 'json' ? undefined : format))
  return code
}
