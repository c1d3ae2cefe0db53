import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagList, type CommandContext} from '../context.js'
import {confirm} from '../prompt.js'
import {pruneContainers} from '../../container/cleanup.js'
import {pruneVolumes} from '../../container/volume-ops.js'
import {pruneImages} from '../../image/images.js'
import {formatSize} from '../../util/units.js'

export default async function systemPrune(ctx: CommandContext): Promise<number> {
  const all = flagBool(ctx, 'all')
  const volumes = flagBool(ctx, 'volumes')
  if (!flagBool(ctx, 'force')) {
    const lines = ['WARNING! This command removes:', '\t- all stopped containers', ...(volumes ? ['\t- all volumes not used by at least one container'] : []), `\t- all ${all ? 'images without at least one container associated with them' : 'dangling images'}`, '\t- all build cache', '']
    if (!(await confirm(ctx, lines.join('\n') + '\nAre you sure you want to continue? [y/N] '))) return 0
  }
  const engine = await engineFor(ctx)
  const filters = flagList(ctx, 'filter')
  // Podman's order: containers first, so the images and volumes they held become unused.
  const pods = filters.length === 0 ? await (await import('../../pod/pods.js')).prunePods(engine) : []
  if (pods.length > 0) {
    ctx.stdout.write('Deleted Pods\n')
    for (const id of pods) ctx.stdout.write(id + '\n')
  }
  const containers = await pruneContainers(engine, filters.filter(f => /^(label|until)=/.test(f)))
  if (containers.length > 0) {
    ctx.stdout.write('Deleted Containers\n')
    for (const id of containers) ctx.stdout.write(id + '\n')
  }
  if (volumes) {
    const removed = await pruneVolumes(engine, filters.filter(f => f.startsWith('label=')))
    if (removed.length > 0) {
      ctx.stdout.write('Deleted Volumes\n')
      for (const name of removed) ctx.stdout.write(name + '\n')
    }
  }
  const report = await pruneImages(engine.store, {...lookupOptions(engine), all, filters})
  if (report.deleted.length > 0) {
    ctx.stdout.write('Deleted Images\n')
    for (const id of report.deleted) ctx.stdout.write(id + '\n')
  }
  ctx.stdout.write(`Total reclaimed space: ${formatSize(report.reclaimed).replace(' ', '')}\n`)
  return 0
}
