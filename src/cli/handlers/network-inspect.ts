import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {networkTemplateView, readNetwork, type NetworkRecord} from '../../network/network-store.js'

/** As podman-network-inspect(1): what is found is printed, each missing network is an error line, exit 125. */
export default async function networkInspect(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const found: NetworkRecord[] = []
  let code = 0
  for (const name of ctx.args) {
    const network = readNetwork(engine.store, name)
    if (network) found.push(network)
    else {
      ctx.stderr.write(`Error: unable to find network with name or ID ${name}: network not found\n`)
      code = 125
    }
  }
  const format = flagString(ctx, 'format')
  if (!format || format.trim() === 'json') {
    if (found.length > 0 || code === 0) ctx.stdout.write(renderObject(found))
  } else {
    ctx.stdout.write(renderObject(found.map(n => networkTemplateView(n)), format))
  }
  return code
}
