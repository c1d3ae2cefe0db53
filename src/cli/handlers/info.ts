import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {collectInfo} from '../../engine/info.js'
import {toYaml} from '../../util/yaml.js'

export default async function info(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const report = await collectInfo(engine, {runtime: ctx.global.runtime})
  const format = flagString(ctx, 'format')
  if (format === 'json') ctx.stdout.write(JSON.stringify(report, null, 4) + '\n')
  else if (format) ctx.stdout.write(renderObject(report, format, {single: true}))
  else ctx.stdout.write(toYaml(report))
}
