import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {createProgressRenderer, registryAccessOptions} from '../transfer-progress.js'
import type {PushCompression, PushFormat} from '../../registry/push.js'
import {appendEvent} from '../../events/events.js'

/** podman-push(1): progress on stderr, nothing on stdout; --digestfile gets the manifest digest. */
export default async function imagePush(ctx: CommandContext): Promise<void> {
  const access = registryAccessOptions(ctx)
  const engine = await engineFor(ctx)
  const {pushImage, writeDigestFile} = await import('../../registry/push.js')
  const renderer = await createProgressRenderer(ctx, flagBool(ctx, 'quiet'))
  try {
    const report = await pushImage(engine.config, engine.store, ctx.args[0]!, ctx.args[1], {
      ...access,
      format: flagString(ctx, 'format') as PushFormat | undefined,
      compressionFormat: flagString(ctx, 'compression-format') as PushCompression | undefined,
      onEvent: renderer.listener,
    })
    renderer.stop()
    appendEvent(engine.store.runRoot, {ID: report.digest, Name: report.reference, Status: 'push', Type: 'image'})
    const digestFile = flagString(ctx, 'digestfile')
    if (digestFile) await writeDigestFile(digestFile, report.digest)
  } finally {
    renderer.stop()
  }
}
