import {engineFor, lookupOptions} from '../engine.js'
import {flagList, flagString, type CommandContext} from '../context.js'

/** podman-manifest-annotate(1): the list's ID on stdout. */
export default async function manifestAnnotate(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const {annotateManifestList} = await import('../../image/manifest-list.js')
  const id = await annotateManifestList(engine.store, ctx.args[0]!, ctx.args[1]!, {
    annotations: flagList(ctx, 'annotation'),
    arch: flagString(ctx, 'arch'),
    os: flagString(ctx, 'os'),
    osVersion: flagString(ctx, 'os-version'),
    variant: flagString(ctx, 'variant'),
    features: ctx.flags.features === undefined ? undefined : flagList(ctx, 'features'),
    osFeatures: ctx.flags['os-features'] === undefined ? undefined : flagList(ctx, 'os-features'),
  }, lookupOptions(engine))
  ctx.stdout.write(`${id}\n`)
}
