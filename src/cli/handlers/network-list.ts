import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {listNetworks, networkMatchesFilters, networkTemplateView, parseNetworkFilters} from '../../network/network-store.js'
import {containersUsingNetwork, sweepStaleNetworks} from '../../network/user-networks.js'

export default async function networkList(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  await sweepStaleNetworks(engine)
  const filters = parseNetworkFilters(flagList(ctx, 'filter'))
  const networks = listNetworks(engine.store).filter(n => networkMatchesFilters(n, filters, name => containersUsingNetwork(engine.store, name).length > 0))
  if (flagBool(ctx, 'quiet')) {
    for (const n of networks) ctx.stdout.write(n.name + '\n')
    return
  }
  const format = flagString(ctx, 'format')
  if (format?.trim() === 'json') {
    ctx.stdout.write(JSON.stringify(networks, null, 4) + '\n')
    return
  }
  const rows = networks.map(n => networkTemplateView(n, {list: true, noTrunc: flagBool(ctx, 'no-trunc')}))
  ctx.stdout.write(renderRows(rows, {format, noHeading: flagBool(ctx, 'noheading'), defaultColumns: [{header: 'NETWORK ID', field: 'ID'}, {header: 'NAME', field: 'Name'}, {header: 'DRIVER', field: 'Driver'}]}))
}
