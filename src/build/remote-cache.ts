/**
 * The build cache in a registry (--cache-from, --cache-to), as buildah keeps
 * it: a step's image is pushed to a repository tagged with the hex of its
 * cache key (cache.ts), and a builder elsewhere that computes the same key
 * pulls that tag instead of running the step. The key is the local one, so
 * the parent image ID it contains makes a hit safe: builds are reproducible,
 * hence two builders agree on every intermediate image ID.
 *
 * The remote cache only ever saves time, so it never fails a build: the first
 * failure to reach a repository (network, TLS, authentication, a broken
 * image) is one warning, and that repository is left alone for the rest of
 * the build. Pushes run one after another in the background while the build
 * goes on (each finds the layers the one before sent); flush() waits for
 * them.
 *
 * Registry code is imported on first use: a build without these flags never
 * loads it.
 */
import type {Engine} from '../engine/engine.js'
import {InvalidArgumentError} from '../errors/index.js'
import {formatReference, normalizeReference, parseReference, referenceName} from '../image/reference.js'
import type {RegistryAccessOptions} from '../registry/session.js'
import {debug} from '../util/log.js'

export interface RemoteCacheOptions {
  /** --cache-from repositories, tried in order. */
  from: string[]
  /** --cache-to repositories, each pushed to. */
  to: string[]
  /** --tls-verify, --cert-dir, --creds, --authfile. */
  access: RegistryAccessOptions
  onWarning: (message: string) => void
}

/** A step image found in a --cache-from repository and now in the store. */
export interface RemoteHit {
  id: string
  layers: string[]
  /** The repository it came from. */
  repository: string
}

/** How the image of a step came to be, which decides whether --cache-to sends it. */
export type StepOrigin = {built: true} | {built: false; repository?: string}

/** Attempts after the first for cache traffic: a registry that is down should cost the build seconds, not minutes. */
const CACHE_RETRIES = 1

/** A --cache-from/--cache-to value as a fully qualified repository name; a tag or digest is refused, since the cache key is the tag. */
export function cacheRepository(input: string, flag: string): string {
  const ref = parseReference(input.startsWith('docker://') ? input.slice('docker://'.length) : input)
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new InvalidArgumentError(`${flag} ${input}: name a repository without a tag or digest`, {hint: `Use ${flag} ${referenceName(ref)}: each step's image is tagged with its cache key`})
  }
  return referenceName(normalizeReference(ref))
}

/** The tag a step's image has in a cache repository: its cache key's hex digits. */
export function cacheTag(key: string): string {
  return key.replace(/^sha256:/, '')
}

export class RemoteCache {
  readonly from: string[]
  readonly to: string[]
  private readonly failed = new Set<string>()
  private pushes: Promise<void> = Promise.resolve()
  private readonly access: RegistryAccessOptions

  constructor(private readonly engine: Engine, private readonly options: RemoteCacheOptions) {
    this.from = [...new Set(options.from.map(r => cacheRepository(r, '--cache-from')))]
    this.to = [...new Set(options.to.map(r => cacheRepository(r, '--cache-to')))]
    this.access = {...options.access, retry: options.access.retry ?? CACHE_RETRIES}
  }

  /**
   * The image of `key` from the first --cache-from repository that has it,
   * pulled into the store. An image that does not extend `parentLayers` (the
   * step's parent) is not the step's result, whatever its tag says: a miss.
   */
  async fetch(key: string, parentLayers: string[]): Promise<RemoteHit | undefined> {
    for (const repository of this.from) {
      if (this.failed.has(repository)) continue
      const reference = `${repository}:${cacheTag(key)}`
      try {
        if (!(await this.hasTag(repository, cacheTag(key)))) {
          debug(`build cache: ${reference} is not there`)
          continue
        }
        const hit = await this.pull(reference)
        if (!parentLayers.every((layer, i) => hit.layers[i] === layer)) {
          debug(`build cache: ${reference} (${hit.id}) does not extend the step's parent; not used`)
          continue
        }
        return {...hit, repository}
      } catch (err) {
        this.fail(repository, err)
      }
    }
    return undefined
  }

  /**
   * Queue the push of a step's image to every --cache-to repository. A step
   * built here is always pushed; one taken from a cache is pushed only
   * where the tag is missing (so a cache filled by earlier local builds still
   * reaches the registry), and never back to the repository it came from.
   */
  offer(key: string, imageId: string, origin: StepOrigin): void {
    for (const repository of this.to) {
      if (!origin.built && origin.repository === repository) continue
      this.pushes = this.pushes.then(async () => {
        if (this.failed.has(repository)) return
        const tag = cacheTag(key)
        try {
          if (!origin.built && (await this.hasTag(repository, tag))) return
          await this.push(imageId, `${repository}:${tag}`)
        } catch (err) {
          this.fail(repository, err)
        }
      })
    }
  }

  /** Settles when every queued push has ended (failures were warned about already). */
  flush(): Promise<void> {
    return this.pushes
  }

  /** One warning per repository, whichever use failed first: it is then neither pulled from nor pushed to. */
  private fail(repository: string, err: unknown): void {
    debug(`build cache: ${repository}: ${(err as Error)?.stack ?? String(err)}`)
    if (this.failed.has(repository)) return
    this.failed.add(repository)
    const cause = ((err as Error)?.message ?? String(err)).split('\n')[0]
    this.options.onWarning(`build cache repository ${repository}: ${cause}; not used for the rest of this build`)
  }

  /** Whether the repository has the tag: 404 (no tag, or no repository yet) says no; anything else that is not 2xx is a failure. */
  private async hasTag(repository: string, tag: string): Promise<boolean> {
    const [{openRegistryClient}, {drain}, {repositoryScope}, {MANIFEST_ACCEPT}] = await Promise.all([
      import('../registry/session.js'),
      import('../registry/client.js'),
      import('../registry/auth.js'),
      import('../registry/pull.js'),
    ])
    const ref = normalizeReference(`${repository}:${tag}`)
    const client = openRegistryClient(this.engine.config, repository, this.access)
    try {
      const res = await client.request(`/v2/${ref.path}/manifests/${tag}`, {method: 'HEAD', headers: {Accept: MANIFEST_ACCEPT}, scope: repositoryScope(ref.path, ['pull']), what: formatReference(ref), accept: [404]})
      await drain(res)
      return res.status !== 404
    } finally {
      client.close()
    }
  }

  /** Pull a cache image; it keeps no name, as a step image built here has none. */
  private async pull(reference: string): Promise<{id: string; layers: string[]}> {
    const [{pullImage}, {untagImage}] = await Promise.all([import('../registry/pull.js'), import('../image/images.js')])
    const {store} = this.engine
    const had = store.readImages().find(i => i.names.includes(reference))
    const report = await pullImage(this.engine.config, store, reference, {...this.access, rootless: this.engine.rootless, onWarning: this.options.onWarning})
    if (had?.id !== report.id) await untagImage(store, report.id, [report.name])
    const record = store.readImages().find(i => i.id === report.id)
    if (!record) throw new Error(`${reference}: pulled as ${report.id}, but the store does not list it`)
    debug(`build cache: pulled ${reference} as ${report.id}`)
    return {id: report.id, layers: record.layers}
  }

  private async push(imageId: string, reference: string): Promise<void> {
    const {pushImage} = await import('../registry/push.js')
    const report = await pushImage(this.engine.config, this.engine.store, imageId, reference, this.access)
    debug(`build cache: pushed ${imageId} to ${reference} as ${report.digest}`)
  }
}
