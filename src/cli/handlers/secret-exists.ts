import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {findSecret} from '../../secrets/secrets.js'

export default async function secretExists(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return findSecret(engine.store, ctx.args[0]!) ? 0 : 1
}
