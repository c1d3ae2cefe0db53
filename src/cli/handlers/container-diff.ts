import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {latestContainer} from '../../container/container-store.js'
import {changesReport, diffContainerOrImage} from '../../container/diff.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {warn} from '../../util/log.js'

/** Runs inside tspod's user namespace (the dispatcher re-executed us there). */
export default async function containerDiff(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const format = flagString(ctx, 'format')
  if (format !== undefined && format.trim() !== 'json') {
    throw new InvalidArgumentError(`invalid format "${format}": the only valid format for diff is json`)
  }
  const latest = flagBool(ctx, 'latest')
  if (!latest && ctx.args.length === 0) throw new InvalidArgumentError('diff requires a container or image name, or --latest', {hint: `See '${ctx.commandLine} --help'`})
  const ref = latest ? latestContainer(engine.store).id : ctx.args[0]!
  const changes = await diffContainerOrImage(engine, ref, warn)
  if (format !== undefined) {
    ctx.stdout.write(renderObject(changesReport(changes)))
    return
  }
  ctx.stdout.write(changes.map(c => `${c.kind} ${c.path}\n`).join(''))
}
