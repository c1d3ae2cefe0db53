import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {parseKubeDocuments} from '../../kube/documents.js'
import {teardownOf} from '../../kube/plan.js'
import {downKube, type KubeDownReport} from '../../kube/play.js'
import {readKubeSource} from '../../kube/source.js'
import {warn} from '../../util/log.js'

export function printDown(ctx: CommandContext, report: KubeDownReport): void {
  let out = ''
  if (report.stopped.length > 0) out += `Pods stopped:\n${report.stopped.join('\n')}\n`
  if (report.removed.length > 0) out += `Pods removed:\n${report.removed.join('\n')}\n`
  if (report.secrets.length > 0) out += `Secrets removed:\n${report.secrets.join('\n')}\n`
  if (report.volumes.length > 0) out += `Volumes removed:\n${report.volumes.join('\n')}\n`
  ctx.stdout.write(out)
}

/** podman-kube-down(1). */
export default async function kubeDown(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const source = await readKubeSource(ctx.args[0]!)
  printDown(ctx, await downKube(engine, teardownOf(parseKubeDocuments(source.text, source.name)), warn))
}
