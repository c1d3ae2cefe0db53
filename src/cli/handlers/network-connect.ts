import {engineFor} from '../engine.js'
import {flagList, flagString, type CommandContext} from '../context.js'
import {lookupContainer, readRecord} from '../../container/container-store.js'
import {connectContainer} from '../../network/user-networks.js'

export default async function networkConnect(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const [network, container] = ctx.args
  const record = readRecord(engine.store, lookupContainer(engine.store, container).id)
  await connectContainer(engine, record, network, {aliases: flagList(ctx, 'alias'), ip: flagString(ctx, 'ip') ?? flagString(ctx, 'ip6'), mac: flagString(ctx, 'mac-address')})
}
