import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {registryAccessOptions} from '../transfer-progress.js'

/** podman-manifest-inspect(1) for a remote image: the manifest JSON, indented as Podman prints it. */
export default async function manifestInspect(ctx: CommandContext): Promise<void> {
  const access = registryAccessOptions(ctx)
  const engine = await engineFor(ctx)
  const {inspectRemoteManifest} = await import('../../registry/manifest.js')
  const result = await inspectRemoteManifest(engine.config, engine.store, ctx.args[0]!, access)
  ctx.stdout.write(JSON.stringify(result.manifest, null, 4) + '\n')
}
