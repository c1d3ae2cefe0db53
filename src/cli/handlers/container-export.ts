import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {lookupContainer, readRecord} from '../../container/container-store.js'
import {exportContainer, exportContainerToFile} from '../../container/export.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {warn} from '../../util/log.js'

/** Runs inside tspod's user namespace (the dispatcher re-executed us there). */
export default async function containerExport(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const output = flagString(ctx, 'output')
  if (output === undefined && ctx.stdout.isTTY) {
    throw new InvalidArgumentError('refusing to export to terminal. Use -o flag or redirect', {hint: `For example: ${ctx.commandLine} ${ctx.args[0]} > rootfs.tar`})
  }
  const record = readRecord(engine.store, lookupContainer(engine.store, ctx.args[0]!).id)
  if (output !== undefined) await exportContainerToFile(engine, record, output, warn)
  else await exportContainer(engine, record, ctx.stdout, warn)
}
