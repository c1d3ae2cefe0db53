import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {saveImages, type ArchiveFormat} from '../../image/archive-save.js'
import {warn} from '../../util/log.js'

/** As podman-save(1): stdout unless -o, never a terminal; nothing printed on success. */
export default async function imageSave(ctx: CommandContext): Promise<void> {
  const format = (flagString(ctx, 'format') ?? 'docker-archive') as ArchiveFormat
  const output = flagString(ctx, 'output')
  const toStdout = output === undefined || output === '-'
  if (toStdout && ctx.stdout.isTTY) throw new InvalidArgumentError('refusing to save to terminal. Use -o flag or redirect')
  // Podman refuses ':' because its transports use it; the same files stay portable between the two.
  if (!toStdout && output.includes(':')) throw new InvalidArgumentError(`invalid filename (should not contain ':') "${output}"`)
  const engine = await engineFor(ctx)
  await saveImages(engine.store, ctx.args, {
    format,
    output: toStdout ? ctx.stdout : output,
    multiImage: flagBool(ctx, 'multi-image-archive'),
    lookup: lookupOptions(engine),
    compress: flagBool(ctx, 'compress'),
    onWarning: warn,
  })
}
