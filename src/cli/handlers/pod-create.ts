import {engineFor} from '../engine.js'
import {flagList, flagString, type CommandContext} from '../context.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {parseNetworkFlag} from '../../network/backend.js'
import {parsePublish} from '../../network/ports.js'
import {createPod} from '../../pod/pods.js'
import {warn} from '../../util/log.js'

function labels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list) {
    const i = item.indexOf('=')
    if (i === 0) throw new InvalidArgumentError(`invalid label "${item}": expected KEY=VALUE`)
    if (i === -1) out[item] = ''
    else out[item.slice(0, i)] = item.slice(i + 1)
  }
  return out
}

export default async function podCreate(ctx: CommandContext): Promise<number> {
  const flagName = flagString(ctx, 'name')
  const argName = ctx.args[0]
  if (flagName !== undefined && argName !== undefined && flagName !== argName) {
    throw new InvalidArgumentError(`cannot specify both --name ${flagName} and a pod name (${argName})`, {hint: 'Give the name once'})
  }
  const networkFlag = parseNetworkFlag(flagString(ctx, 'network'))
  if (networkFlag.kind === 'container' || networkFlag.kind === 'ns') {
    throw new InvalidArgumentError(`--network ${flagString(ctx, 'network')}: a pod's network is none, host, private, slirp4netns[:OPTIONS], pasta[:OPTIONS] or a network's name`)
  }
  const engine = await engineFor(ctx)
  const {pod, warnings} = await createPod(engine, {
    name: flagName ?? argName,
    hostname: flagString(ctx, 'hostname'),
    labels: labels(flagList(ctx, 'label')),
    share: flagString(ctx, 'share'),
    infra: ctx.flags.infra !== false,
    infraName: flagString(ctx, 'infra-name'),
    publish: flagList(ctx, 'publish').flatMap(parsePublish),
    ...(networkFlag.kind === 'named' ? {networks: {names: [networkFlag.name]}} : {networkFlag}),
    dns: flagList(ctx, 'dns'),
    addHosts: flagList(ctx, 'add-host'),
    replace: ctx.flags.replace === true,
    userns: flagString(ctx, 'userns'),
    exitPolicy: flagString(ctx, 'exit-policy'),
    infraMonitorPidFile: flagString(ctx, 'infra-conmon-pidfile'),
    podIdFile: flagString(ctx, 'pod-id-file'),
    createCommand: ['tspod', ...ctx.argv],
  })
  for (const w of warnings) warn(w)
  ctx.stdout.write(`${pod.id}\n`)
  return 0
}
