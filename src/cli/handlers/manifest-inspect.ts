import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'
import {registryAccessOptions} from '../transfer-progress.js'

/**
 * podman-manifest-inspect(1): a local manifest list first, else the manifest
 * of a remote image; JSON indented as Podman prints it.
 */
export default async function manifestInspect(ctx: CommandContext): Promise<void> {
  const access = registryAccessOptions(ctx)
  const engine = await engineFor(ctx)
  const {inspectLocalManifestList} = await import('../../image/manifest-list.js')
  const local = inspectLocalManifestList(engine.store, ctx.args[0]!, lookupOptions(engine))
  if (local !== undefined) {
    ctx.stdout.write(JSON.stringify(local, null, 4) + '\n')
    return
  }
  const {inspectRemoteManifest} = await import('../../registry/manifest.js')
  const result = await inspectRemoteManifest(engine.config, engine.store, ctx.args[0]!.replace(/^docker:\/\//, ''), access)
  ctx.stdout.write(JSON.stringify(result.manifest, null, 4) + '\n')
}
