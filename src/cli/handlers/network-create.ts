import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {appendEvent} from '../../events/events.js'
import {createNetwork, readNetwork} from '../../network/network-store.js'

function pairs(list: string[]): Record<string, string> {
  return Object.fromEntries(list.map(kv => {
    const i = kv.indexOf('=')
    return i === -1 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)]
  }))
}

export default async function networkCreate(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const existed = ctx.args[0] !== undefined && readNetwork(engine.store, ctx.args[0]) !== undefined
  const network = await createNetwork(engine.store, {
    name: ctx.args[0],
    driver: flagString(ctx, 'driver'),
    subnets: flagList(ctx, 'subnet'),
    gateways: flagList(ctx, 'gateway'),
    ipRanges: flagList(ctx, 'ip-range'),
    internal: flagBool(ctx, 'internal'),
    disableDns: flagBool(ctx, 'disable-dns'),
    ipv6: flagBool(ctx, 'ipv6'),
    labels: pairs(flagList(ctx, 'label')),
    options: pairs(flagList(ctx, 'opt')),
    ignoreExisting: flagBool(ctx, 'ignore'),
  })
  if (!existed) appendEvent(engine.store.runRoot, {ID: network.id, Name: network.name, Status: 'create', Type: 'network'})
  ctx.stdout.write(network.name + '\n')
}
