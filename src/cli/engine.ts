/** Opening the engine from a handler, and the bits of config lookups need. */
import type {CommandContext} from './context.js'
import type {Engine} from '../engine/engine.js'
import type {LookupOptions} from '../image/lookup.js'

let cached: Engine | undefined

export async function engineFor(ctx: CommandContext): Promise<Engine> {
  if (!cached) {
    const {openEngine} = await import('../engine/engine.js')
    cached = openEngine(ctx.global)
  }
  return cached
}

export function lookupOptions(engine: Engine): LookupOptions {
  return {searchRegistries: engine.config.registries.unqualifiedSearchRegistries}
}
