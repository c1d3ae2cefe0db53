import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'

/** podman-manifest-exists(1): 0 when a manifest list of that name is in local storage, 1 otherwise. */
export default async function manifestExists(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const {manifestListExists} = await import('../../image/manifest-list.js')
  return manifestListExists(engine.store, ctx.args[0]!, lookupOptions(engine)) ? 0 : 1
}
