import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {describePod, inspectPod} from '../../pod/pod-report.js'
import {latestPod, lookupPod} from '../../pod/pod-store.js'

/** One pod prints as an object, as Podman 4 does; several as an array. */
export default async function podInspect(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const refs = flagBool(ctx, 'latest') ? ['latest'] : ctx.args
  if (refs.length === 0) throw new InvalidArgumentError('you must provide the name or ID of a pod, or use --latest', {hint: `See '${ctx.commandLine} --help'`})
  const found = []
  let code = 0
  for (const ref of refs) {
    try {
      const pod = ref === 'latest' && flagBool(ctx, 'latest') ? latestPod(engine.store) : lookupPod(engine.store, ref)
      found.push(inspectPod(engine.store, describePod(engine.store, pod)))
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = 125
    }
  }
  if (found.length > 0) ctx.stdout.write(renderObject(found.length === 1 ? found[0] : found, flagString(ctx, 'format'), {single: found.length === 1}))
  return code
}
