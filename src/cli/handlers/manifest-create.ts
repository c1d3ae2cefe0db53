import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagList, type CommandContext} from '../context.js'
import {registryAccessOptions} from '../transfer-progress.js'

/** podman-manifest-create(1): the list's ID on stdout. */
export default async function manifestCreate(ctx: CommandContext): Promise<void> {
  const access = registryAccessOptions(ctx)
  const engine = await engineFor(ctx)
  const {createManifestList} = await import('../../image/manifest-list.js')
  const [list, ...images] = ctx.args
  const id = await createManifestList(engine.config, engine.store, list!, images, {
    all: flagBool(ctx, 'all'),
    amend: flagBool(ctx, 'amend'),
    annotations: flagList(ctx, 'annotation'),
    access,
    lookup: lookupOptions(engine),
  })
  ctx.stdout.write(`${id}\n`)
}
