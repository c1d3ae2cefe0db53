import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {removeImages} from '../../image/images.js'
import {findImage} from '../../image/lookup.js'
import {appendEvent} from '../../events/events.js'

/** Exit codes as podman-rmi(1): 1 when an image was not found, 2 when one is in use. */
export default async function imageRm(ctx: CommandContext): Promise<number> {
  const all = flagBool(ctx, 'all')
  if (all && ctx.args.length > 0) throw new InvalidArgumentError('when using the --all switch, you may not pass any images names or IDs')
  if (!all && ctx.args.length === 0) throw new InvalidArgumentError('image name or ID must be specified')
  const engine = await engineFor(ctx)
  // As Podman: --force also ignores images that do not exist.
  const force = flagBool(ctx, 'force')
  if (force) {
    // As Podman: -f first removes the containers that use the images.
    const images = engine.store.readImages()
    const targets = all ? images : ctx.args.map(ref => findImage(images, ref, {...lookupOptions(engine), manifestList: true})).filter(i => i !== undefined)
    const ids = new Set(targets.map(i => i!.id))
    const {removeContainer} = await import('../../container/lifecycle.js')
    for (const c of engine.store.readContainerRefs()) if (ids.has(c.image)) await removeContainer(engine, c.id, {force: true})
  }
  const report = await removeImages(engine.store, ctx.args, {...lookupOptions(engine), all, force, ignore: force || flagBool(ctx, 'ignore')})
  for (const name of report.untagged) ctx.stdout.write(`Untagged: ${name}\n`)
  for (const id of report.deleted) ctx.stdout.write(`Deleted: ${id}\n`)
  for (const id of report.deleted) appendEvent(engine.store.runRoot, {ID: id, Status: 'remove', Type: 'image'})
  let code = 0
  for (const {error, exitCode} of report.errors) {
    ctx.stderr.write(`Error: ${error.message}\n`)
    code = code === 0 ? exitCode : Math.max(code, exitCode)
  }
  return code
}
