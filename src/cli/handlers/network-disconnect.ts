import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {lookupContainer, readRecord} from '../../container/container-store.js'
import {disconnectContainer} from '../../network/user-networks.js'

export default async function networkDisconnect(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const [network, container] = ctx.args
  const record = readRecord(engine.store, lookupContainer(engine.store, container).id)
  await disconnectContainer(engine, record, network)
}
