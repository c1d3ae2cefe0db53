import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {createProgressRenderer, registryAccessOptions} from '../transfer-progress.js'
import type {PushCompression, PushFormat} from '../../registry/push.js'

/** podman-manifest-push(1): progress on stderr, nothing on stdout; --digestfile gets the list's digest. */
export default async function manifestPush(ctx: CommandContext): Promise<void> {
  const access = registryAccessOptions(ctx)
  const quiet = flagBool(ctx, 'quiet')
  const engine = await engineFor(ctx)
  const [{pushManifestList, removeManifestLists}, {writeDigestFile}] = await Promise.all([import('../../image/manifest-list.js'), import('../../registry/push.js')])
  const renderer = await createProgressRenderer(ctx, quiet)
  try {
    const report = await pushManifestList(engine.config, engine.store, ctx.args[0]!, ctx.args[1], {
      ...access,
      all: ctx.flags.all !== false,
      format: flagString(ctx, 'format') as PushFormat | undefined,
      compressionFormat: flagString(ctx, 'compression-format') as PushCompression | undefined,
      lookup: lookupOptions(engine),
      onEvent: renderer.listener,
      onMessage: quiet ? undefined : line => {
        renderer.stop()
        ctx.stderr.write(`${line}\n`)
      },
    })
    renderer.stop()
    const digestFile = flagString(ctx, 'digestfile')
    if (digestFile) await writeDigestFile(digestFile, report.digest)
    if (flagBool(ctx, 'rm')) {
      const removed = await removeManifestLists(engine.store, [report.id], lookupOptions(engine))
      if (removed.errors.length > 0) throw removed.errors[0]!.error
    }
  } finally {
    renderer.stop()
  }
}
