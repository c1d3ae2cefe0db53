import {engineFor} from '../engine.js'
import {flagList, flagString, type CommandContext} from '../context.js'
import {importImage} from '../../image/import.js'
import {warn} from '../../util/log.js'
import {appendEvent} from '../../events/events.js'

export default async function imageImport(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const changes = flagList(ctx, 'change')
  const report = await importImage(engine.store, {
    source: ctx.args[0],
    reference: ctx.args[1],
    changes,
    message: flagString(ctx, 'message'),
    rootless: engine.rootless,
    platform: {os: flagString(ctx, 'os'), architecture: flagString(ctx, 'arch'), variant: flagString(ctx, 'variant')},
  })
  if (report.skippedDevices.length > 0) {
    warn(`skipped ${report.skippedDevices.length} device node(s) that cannot be created rootless (first: /${report.skippedDevices[0]})`)
  }
  appendEvent(engine.store.runRoot, {ID: report.id, Name: ctx.args[1], Status: 'import', Type: 'image'})
  // As in Podman, --quiet silences progress only: the new image's ID is the command's result.
  ctx.stdout.write(`sha256:${report.id}\n`)
}
