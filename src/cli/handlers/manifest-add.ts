import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {registryAccessOptions} from '../transfer-progress.js'

/** podman-manifest-add(1): the list's ID on stdout. */
export default async function manifestAdd(ctx: CommandContext): Promise<void> {
  const access = registryAccessOptions(ctx)
  const engine = await engineFor(ctx)
  const {addToManifestList} = await import('../../image/manifest-list.js')
  const id = await addToManifestList(engine.config, engine.store, ctx.args[0]!, ctx.args[1]!, {
    all: flagBool(ctx, 'all'),
    annotations: flagList(ctx, 'annotation'),
    arch: flagString(ctx, 'arch'),
    os: flagString(ctx, 'os'),
    osVersion: flagString(ctx, 'os-version'),
    variant: flagString(ctx, 'variant'),
    features: ctx.flags.features === undefined ? undefined : flagList(ctx, 'features'),
    access,
    lookup: lookupOptions(engine),
  })
  ctx.stdout.write(`${id}\n`)
}
