/** Opening the engine from a handler, and the bits of config lookups need. */
import type {CommandContext} from './context.js'
import {debug} from '../util/log.js'
import type {Engine} from '../engine/engine.js'
import type {LookupOptions} from '../image/lookup.js'

let cached: Engine | undefined

export async function engineFor(ctx: CommandContext): Promise<Engine> {
  if (!cached) {
    const {openEngine} = await import('../engine/engine.js')
    cached = openEngine(ctx.global)
    debug(`engine open: store ${cached.store.graphRoot}, driver ${cached.driver.driver}`)
  }
  return cached
}

/** Lookup options that read registries.conf only if a lookup needs it. */
export function lookupOptions(engine: Engine): LookupOptions {
  return {searchRegistries: () => engine.config.registries.unqualifiedSearchRegistries}
}
