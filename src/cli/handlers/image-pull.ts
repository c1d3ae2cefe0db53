import {engineFor} from '../engine.js'
import {chooseImage} from '../prompt.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {createProgressRenderer, registryAccessOptions} from '../transfer-progress.js'
import {InvalidArgumentError} from '../../errors/index.js'
import type {Platform} from '../../image/oci.js'
import {warn} from '../../util/log.js'
import {appendEvent} from '../../events/events.js'

/** podman-pull(1): each reference in turn; progress on stderr, the image IDs on stdout. */
export default async function imagePull(ctx: CommandContext): Promise<void> {
  const platform = platformFlags(ctx)
  const quiet = flagBool(ctx, 'quiet')
  const access = registryAccessOptions(ctx)
  const engine = await engineFor(ctx)
  const {pullImages} = await import('../../registry/pull.js')
  const renderer = await createProgressRenderer(ctx, quiet)
  try {
    for (const input of ctx.args) {
      const reports = await pullImages(engine.config, engine.store, input, {
        ...access,
        platform,
        allTags: flagBool(ctx, 'all-tags'),
        rootless: engine.rootless,
        isTTY: process.stdin.isTTY === true && process.stdout.isTTY === true,
        chooseShortName: candidates => chooseImage(ctx, candidates),
        onEvent: renderer.listener,
        onWarning: warn,
      })
      renderer.stop()
      for (const report of reports) appendEvent(engine.store.runRoot, {ID: report.id, Name: report.name, Status: 'pull', Type: 'image'})
      for (const report of reports) ctx.stdout.write(`${report.id}\n`)
    }
  } finally {
    renderer.stop()
  }
}

function platformFlags(ctx: CommandContext): Partial<Platform> | undefined {
  const spec = flagString(ctx, 'platform')
  let os = flagString(ctx, 'os')
  let architecture = flagString(ctx, 'arch')
  let variant = flagString(ctx, 'variant')
  if (spec !== undefined) {
    if (os !== undefined || architecture !== undefined) throw new InvalidArgumentError('--platform option can not be specified with --arch or --os')
    const parts = spec.split('/')
    if (parts.length < 2 || parts.length > 3 || parts.some(p => p === '')) throw new InvalidArgumentError(`--platform: invalid platform ${JSON.stringify(spec)}`, {hint: 'Use OS/ARCH[/VARIANT], e.g. linux/arm64/v8'})
    ;[os, architecture, variant] = [parts[0], parts[1], parts[2] ?? variant]
  }
  if (os === undefined && architecture === undefined && variant === undefined) return undefined
  const out: Partial<Platform> = {}
  if (os !== undefined) out.os = os
  if (architecture !== undefined) out.architecture = architecture
  if (variant !== undefined) out.variant = variant
  return out
}
