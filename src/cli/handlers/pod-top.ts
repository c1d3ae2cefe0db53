import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {alignColumns} from '../format.js'
import {currentState, isActive} from '../../container/container-store.js'
import {topContainer} from '../../container/top.js'
import {InvalidArgumentError, TspodError} from '../../errors/index.js'
import {latestPod, lookupPod, podContainers} from '../../pod/pod-store.js'

/** The processes of every running container of the pod (infra included), under one header. */
export default async function podTop(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const latest = flagBool(ctx, 'latest')
  const [ref, ...descriptors] = latest ? ['', ...ctx.args] : ctx.args
  if (!latest && ref === undefined) {
    throw new InvalidArgumentError('you must provide the name or ID of a running pod or use --latest', {hint: `See '${ctx.commandLine} --help'`})
  }
  const pod = latest ? latestPod(engine.store) : lookupPod(engine.store, ref!)
  const running = podContainers(engine.store, pod.id).filter(r => isActive(currentState(engine.store, r.id)))
  if (running.length === 0) throw new TspodError(`pod ${pod.name} is not running: top needs a running container in the pod`, {hint: `Start it: tspod pod start ${pod.name}`})
  const rows: string[][] = []
  const seen = new Set<string>()
  for (const record of running) {
    const [header, ...lines] = topContainer(engine, record, descriptors)
    if (rows.length === 0) rows.push(header)
    // With a shared PID namespace every container sees the same processes: list each once.
    for (const line of lines) {
      const key = line.join('\t')
      if (!seen.has(key)) rows.push(line)
      seen.add(key)
    }
  }
  ctx.stdout.write(alignColumns(rows) + '\n')
  return 0
}
