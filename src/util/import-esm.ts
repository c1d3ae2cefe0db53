/**
 * import() of an ES-only package (ora, node-fetch) from code that may run in
 * a handler bundle. The bundles are CommonJS compiled through node:vm (see
 * src/cli/code-cache.ts), where Node 20 allows no import() of its own, so the
 * dispatcher, a module Node itself loaded (dist/main.cjs), leaves its
 * import() on globalThis for them. Elsewhere (tests run the sources as ES
 * modules) plain import() is used.
 */
const KEY = Symbol.for('tspod.importEsm')

type Importer = (specifier: string) => Promise<unknown>

export function importEsm<T>(specifier: string): Promise<T> {
  const viaDispatcher = (globalThis as unknown as Record<symbol, Importer | undefined>)[KEY]
  return (viaDispatcher ? viaDispatcher(specifier) : import(specifier)) as Promise<T>
}

/** Called by the dispatcher with its own import(). */
export function provideEsmImport(importer: Importer): void {
  ;(globalThis as unknown as Record<symbol, Importer>)[KEY] = importer
}
