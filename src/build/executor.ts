/**
 * The build executor: a planned Dockerfile in, an image in the store out.
 *
 * Each stage starts from its base (a local image, pulled when missing per
 * --pull; `scratch`; or an earlier stage) and applies its instructions in
 * order. Every instruction ends as an image of its own (layer.ts), which is
 * what the next instruction starts from and what the cache (cache.ts) points
 * at: RUN runs as a container (run-step.ts), COPY and ADD write into an
 * overlay of the parent (rootfs.ts, copy.ts), and the other instructions
 * only change the config and add an `empty_layer` history entry. Output,
 * history and config follow `podman build` (buildah): `STEP n/N: …`,
 * `--> Using cache …`, `COMMIT …`, `created_by` strings of the form
 * `/bin/sh -c #(nop) …`.
 *
 * Reproducible by default: `created` is the build's epoch
 * (--source-date-epoch, $SOURCE_DATE_EPOCH, else 0) or --timestamp, and file
 * times in new layers are clamped to it, so the same Dockerfile and context
 * give the same image ID in any directory, with or without the cache.
 */
import {existsSync, readFileSync, writeFileSync, chmodSync, chownSync, mkdirSync} from 'node:fs'
import {posix, join} from 'node:path'
import {Readable, type Writable} from 'node:stream'
import {BuildError, InvalidArgumentError, NoSuchImageError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {readConfig} from '../image/images.js'
import {findImage, qualifyLocalName} from '../image/lookup.js'
import {hostPlatform, type ContainerConfig, type HistoryEntry, type ImageConfig} from '../image/oci.js'
import {resolveUser} from '../runtime/user.js'
import {readImageFile} from '../container/image-files.js'
import type {ImageFormat} from '../container/commit.js'
import {sha256} from '../storage/hashing.js'
import {debug} from '../util/log.js'
import type {Instruction} from './ast.js'
import {AbortRegistry} from './abort.js'
import {lookupCache, recordCache, stepCacheKey} from './cache.js'
import {parseChmod} from './chmod.js'
import {
  applyTar,
  archiveTar,
  combineDigests,
  destinationIsDirectory,
  digestAndKeep,
  digestStream,
  isLocalArchive,
  normalisedTar,
  placeSource,
  resolveSource,
  type IgnoreRules,
  type ResolvedSource,
  type StreamOptions,
} from './copy.js'
import {DockerfileError, formatLocation, locateDockerfileError} from './dockerfile-error.js'
import {EXPANDING_FLAGS, expandWord, expandWords, type VariableLookup} from './expand.js'
import {isGitUrl} from './git.js'
import {createdTime, stageDirectoryLayer, writeImage, type LayerTimes, type StepImage} from './layer.js'
import {parseMountFlag, type RunMount} from './mount.js'
import {PROXY_ARGS, parseArgToken, resolveStageArg, type BuildPlan, type PlannedStage} from './plan.js'
import type {RemoteCache, StepOrigin} from './remote-cache.js'
import {withReadOnlyRootfs, withWritableRootfs} from './rootfs.js'
import {runStep} from './run-step.js'

export interface BuildOptions {
  /** The planned Dockerfile (plan.ts): stages, the target, what it needs, build arguments. */
  plan: BuildPlan
  contextDir: string
  ignore?: IgnoreRules
  /** Names for the result, as the user wrote them. */
  tags: string[]
  pull: 'always' | 'missing' | 'never' | 'newer'
  /** Consult the cache (--layers and not --no-cache). */
  useCache: boolean
  /**
   * Without the cache, still take a COPY/ADD result the store already has
   * for the same key: its key holds the digest of every byte it reads, so
   * running it again could only write the same layer (and then delete the
   * copy). False for --verify's second build, which must redo everything.
   */
  reuseIdenticalCopies?: boolean
  /** --cache-ttl: cache entries recorded longer ago than this are misses. */
  cacheTtlMs?: number
  /** --cache-from / --cache-to: step images in registry repositories, beside the local cache. */
  remoteCache?: RemoteCache
  /** Keep intermediate images (--layers). */
  keepIntermediates: boolean
  squash: boolean
  squashAll: boolean
  labels: Record<string, string>
  annotations: Record<string, string>
  /** Secret id → host file holding it. */
  secrets: Map<string, string>
  /** --ssh id → the socket of the agent that answers for it (ssh.ts). */
  ssh?: Map<string, string>
  network: 'none' | 'host' | 'private'
  format: ImageFormat
  times: LayerTimes
  volumes: string[]
  capAdd: string[]
  securityOpt: string[]
  /** Where RUN output goes. */
  stdout: Writable
  stderr: Writable
  /** Progress lines (`STEP 1/3: …`); not called with -q. */
  onLine: (line: string) => void
  onWarning: (message: string) => void
  /** Pull a base image into the store (the same path `tspod run` and `pull` use). */
  pullImage: (reference: string) => Promise<void>
  abort: AbortRegistry
}

export interface BuildReport {
  id: string
  /** The qualified names the image got. */
  names: string[]
}

const DEFAULT_SHELL = ['/bin/sh', '-c']
const NOP = '/bin/sh -c #(nop) '
/** Part of every cache key: bump it when the same step starts producing a different layer, so old results miss. */
const BUILDER_VERSION = 1
/** How many bytes of COPY source tars are kept in memory between the key and the apply, per step. */
const KEEP_SOURCE_BYTES = 64 * 1024 * 1024
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

type FullConfig = ContainerConfig & {Shell?: string[]}

interface StageState {
  stage: PlannedStage
  image: StepImage
  /** Build arguments declared in this stage, in order; undefined when declared without a value. */
  args: Map<string, string | undefined>
  shell: string[]
  /** The history comment of the next entry: `FROM <base>` first, then `FROM <parent id>`. */
  comment: string
  /** For messages: `[2/3] ` in multi-stage builds. */
  prefix: string
}

class RunStepError extends BuildError {}

export async function buildImage(engine: Engine, options: BuildOptions): Promise<BuildReport> {
  if (engine.store.driver !== 'overlay') {
    throw new InvalidArgumentError('build needs the overlay storage driver: steps are layers diffed through an overlay mount', {hint: 'Use --storage-driver overlay'})
  }
  return new Executor(engine, options).run()
}

class Executor {
  private readonly built = new Map<number, StepImage>()
  private readonly created: string[] = []
  private readonly warned = new Set<string>()
  private readonly escape: '\\' | '`'
  private readonly plan: BuildPlan
  /** Stage indexes in build order: dependencies first, the target last. */
  private readonly order: number[]

  constructor(private readonly engine: Engine, private readonly options: BuildOptions) {
    this.plan = options.plan
    this.escape = options.plan.directives.escape
    this.order = [...options.plan.levels.flat().filter(i => i !== options.plan.target), options.plan.target]
  }

  async run(): Promise<BuildReport> {
    const {options} = this
    try {
      await this.buildStages()
      const final = await this.finish(this.built.get(this.plan.target)!)
      if (this.plan.unusedBuildArgs.length > 0) options.onWarning(`one or more build args were not consumed: [${this.plan.unusedBuildArgs.join(' ')}]`)
      if (!options.keepIntermediates) await this.removeIntermediates(final.id!)
      return {id: final.id!, names: options.tags.map(qualifyLocalName)}
    } finally {
      // Steps that were built before a failure are worth having in the cache repository too.
      await options.remoteCache?.flush()
    }
  }

  // ---- stages ----

  /**
   * Every needed stage starts as soon as the stages it reads are built, so
   * independent stages build at the same time (each RUN is its own container
   * and each commit takes the store lock, so they do not interfere). After a
   * failure the others are let finish, then the first error is reported.
   */
  private async buildStages(): Promise<void> {
    const building = new Map<number, Promise<void>>()
    const buildOne = (index: number): Promise<void> => {
      let done = building.get(index)
      if (!done) {
        const stage = this.plan.stages[index]!
        const needs = [...new Set(stage.dependencies.map(d => d.stage))].filter(d => d !== index && this.order.includes(d))
        done = (async () => {
          const settled = await Promise.allSettled(needs.map(buildOne))
          const failed = settled.find(r => r.status === 'rejected')
          if (failed) throw (failed as PromiseRejectedResult).reason
          this.built.set(index, await this.buildStage(stage, index === this.plan.target))
        })()
        building.set(index, done)
      }
      return done
    }
    const settled = await Promise.allSettled(this.order.map(buildOne))
    const failed = settled.find(r => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  }

  private async buildStage(stage: PlannedStage, isFinal: boolean): Promise<StepImage> {
    const prefix = this.plan.stages.length > 1 ? `[${this.order.indexOf(stage.index) + 1}/${this.order.length}] ` : ''
    const steps = stage.instructions.length + 1
    this.options.onLine(`${prefix}STEP 1/${steps}: ${stage.from.original}`)
    const state = await this.startStage(stage, prefix)
    for (const [i, instruction] of stage.instructions.entries()) {
      const last = i === stage.instructions.length - 1
      this.options.onLine(`${prefix}STEP ${i + 2}/${steps}: ${instruction.original}`)
      await this.step(state, instruction, `${i + 2}/${steps}`)
      // Without --layers Podman reports only the final image.
      if (!(last && isFinal) && this.options.keepIntermediates) this.options.onLine(`--> ${shortId(state.image.id!)}`)
    }
    if (state.image.id === undefined) state.image = await this.commitMetadata(state, state.image.config, undefined)
    return state.image
  }

  private async startStage(stage: PlannedStage, prefix: string): Promise<StageState> {
    const from = stage.from
    if (stage.platform !== undefined) this.checkPlatform(stage.platform, from)
    const baseName = stage.baseExpanded
    let image: StepImage
    let comment: string
    const earlier = stage.baseStage
    if (baseName === 'scratch') {
      image = {layers: [], config: {...hostPlatform(), rootfs: {type: 'layers', diff_ids: []}, config: {}}}
      comment = ''
    } else if (earlier !== undefined) {
      image = this.built.get(earlier)!
      comment = `FROM ${image.id!.slice(0, 12)}`
    } else {
      image = await this.resolveBase(baseName, from)
      comment = `FROM ${qualifyLocalName(baseName)}`
    }
    const config = structuredClone(image.config)
    // As buildah does: a base without PATH gets the usual one, so RUN finds its programs.
    config.config ??= {}
    if (envValue(config.config.Env ?? [], 'PATH') === undefined) config.config.Env = [DEFAULT_PATH, ...(config.config.Env ?? [])]
    const state: StageState = {stage, image: {...image, config}, args: new Map(), shell: [...((config.config as FullConfig | undefined)?.Shell ?? DEFAULT_SHELL)], comment, prefix}
    const triggers = config.config?.OnBuild ?? []
    if (triggers.length > 0) {
      this.options.onLine(`--> Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}`)
      const {parseDockerfile} = await import('./parser.js')
      // The triggers belong to the base: they run now and are not inherited further.
      const inherited: ImageConfig = {...config, config: {...config.config}}
      delete inherited.config!.OnBuild
      state.image = await this.commitMetadata(state, inherited, undefined)
      for (const trigger of triggers) {
        // A trigger alone is not a Dockerfile (only ARG may precede FROM): parse it after a placeholder FROM.
        const parsed = parseDockerfile(`FROM scratch\n${trigger}\n`, `${from.location.file} (ONBUILD of ${baseName})`)
        for (const instruction of parsed.instructions.slice(1)) await this.step(state, instruction, 'ONBUILD')
      }
    }
    return state
  }

  /** A stage by name or index, for --from. */
  private findStage(name: string): number | undefined {
    const lower = name.toLowerCase()
    const byName = this.plan.stages.find(s => s.name === lower)
    if (byName) return byName.index
    if (/^\d+$/.test(name) && Number(name) < this.plan.stages.length) return Number(name)
    return undefined
  }

  private checkPlatform(platform: string, where: Instruction): void {
    const host = hostPlatform()
    const [os, arch] = platform.split('/')
    if (os !== host.os || (arch !== undefined && arch !== host.architecture)) {
      throw new DockerfileError(where.location, `platform ${platform} cannot be built on this ${host.os}/${host.architecture} host: no emulator is registered`, 'Build for the host platform, or drop --platform')
    }
  }

  private async resolveBase(reference: string, from: Instruction): Promise<StepImage> {
    const {store} = this.engine
    const lookup = {searchRegistries: () => this.engine.config.registries.unqualifiedSearchRegistries}
    let record = findImage(store.readImages(), reference, lookup)
    const pull = this.options.pull
    if (pull === 'always' || pull === 'newer' || (!record && pull === 'missing')) {
      try {
        await this.options.pullImage(reference)
      } catch (err) {
        if (!(record && pull === 'newer')) throw err
      }
      record = findImage(store.readImages(), reference, lookup)
    }
    if (!record) {
      throw new NoSuchImageError(reference, pull === 'never' ? `${formatLocation(from.location)}: the image is not in local storage and --pull=never forbids pulling it` : undefined)
    }
    return {id: record.id, layers: record.layers, config: readConfig(store, record)}
  }

  // ---- variables ----

  /** ENV wins over ARG, as in Docker. */
  private lookupFor(state: StageState): VariableLookup {
    return name => {
      const env = envValue(state.image.config.config?.Env ?? [], name)
      if (env !== undefined) return env
      return state.args.get(name)
    }
  }

  private expand(instruction: Instruction, raw: string, lookup: VariableLookup): string {
    try {
      return expandWord(raw, lookup, {escape: this.escape})
    } catch (err) {
      if (err instanceof DockerfileError) throw locateDockerfileError(err, instruction.location)
      throw err
    }
  }

  private expandAll(instruction: Instruction, raw: string, lookup: VariableLookup): string[] {
    try {
      return expandWords(raw, lookup, {escape: this.escape})
    } catch (err) {
      if (err instanceof DockerfileError) throw locateDockerfileError(err, instruction.location)
      throw err
    }
  }

  private flag(instruction: Instruction, name: string, lookup: VariableLookup): string | undefined {
    const found = instruction.flags.filter(f => f.name === name)
    const flag = found[found.length - 1]
    if (!flag) return undefined
    if (flag.value === undefined) return 'true'
    return EXPANDING_FLAGS[instruction.keyword]?.has(name) ? this.expand(instruction, flag.value, lookup) : flag.value
  }

  private flags(instruction: Instruction, name: string, lookup: VariableLookup): string[] {
    return instruction.flags.filter(f => f.name === name).map(f => (f.value === undefined ? 'true' : EXPANDING_FLAGS[instruction.keyword]?.has(name) ? this.expand(instruction, f.value, lookup) : f.value))
  }

  /** ARG: `name[=default]` tokens, valued as plan.ts says (--build-arg, default, global). */
  private declareArgs(state: StageState, instruction: Instruction, lookup: VariableLookup): void {
    for (const token of instruction.args) {
      const {name, rawDefault} = parseArgToken(token)
      try {
        state.args.set(name, resolveStageArg(this.plan, name, rawDefault, lookup, this.escape))
      } catch (err) {
        if (err instanceof DockerfileError) throw locateDockerfileError(err, instruction.location)
        throw err
      }
    }
  }

  /** Build arguments a RUN sees as environment: declared, with a value, and not overridden by ENV. */
  private runArgs(state: StageState): Array<[string, string]> {
    const env = state.image.config.config?.Env ?? []
    const out: Array<[string, string]> = []
    for (const [name, value] of state.args) {
      if (value !== undefined && envValue(env, name) === undefined) out.push([name, value])
    }
    return out
  }

  /**
   * The build arguments history shows, as buildah does: those declared in
   * the stage with a value (for ARG entries also the proxy variables given
   * with --build-arg), sorted by name, each with the value the step sees
   * (ENV wins).
   */
  private historyArgs(state: StageState, withProxies: boolean): Array<[string, string]> {
    const env = state.image.config.config?.Env ?? []
    const values = new Map<string, string>()
    for (const [name, value] of state.args) if (value !== undefined) values.set(name, value)
    if (withProxies) for (const [name, value] of Object.entries(this.plan.buildArgs)) if (PROXY_ARGS.has(name)) values.set(name, state.args.get(name) ?? value)
    return [...values].map(([name, value]): [string, string] => [name, envValue(env, name) ?? value]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  /** Proxy variables given with --build-arg reach RUN without an ARG. */
  private proxyEnv(state: StageState): string[] {
    return Object.entries(this.plan.buildArgs).filter(([name]) => PROXY_ARGS.has(name) && !state.args.has(name)).map(([k, v]) => `${k}=${v}`)
  }

  // ---- steps ----

  private async step(state: StageState, instruction: Instruction, position: string): Promise<void> {
    try {
      switch (instruction.keyword) {
        case 'RUN':
          return await this.runInstruction(state, instruction, position)
        case 'COPY':
        case 'ADD':
          return await this.copy(state, instruction)
        default:
          return await this.metadata(state, instruction)
      }
    } catch (err) {
      if (err instanceof RunStepError || !(err instanceof TspodError) || err instanceof DockerfileError) throw err
      const where = describeStep(state, instruction, position)
      throw new BuildError(`building at STEP "${instruction.original}" (${where}): ${err.message}`, {hint: err.hint, exitCode: err.exitCode, cause: err})
    }
  }

  private async metadata(state: StageState, instruction: Instruction): Promise<void> {
    const lookup = this.lookupFor(state)
    const image = state.image
    const config: ImageConfig = structuredClone(image.config)
    const c: FullConfig = (config.config ??= {})
    let createdBy = `${NOP}${instruction.original.replace(/^\s*\S+/, instruction.keyword)}`
    const words = (): string[] => (instruction.json ? instruction.args.map(a => this.expand(instruction, a, lookup)) : instruction.args.flatMap(a => this.expandAll(instruction, a, lookup)))
    switch (instruction.keyword) {
      case 'ARG': {
        this.declareArgs(state, instruction, lookup)
        // buildah lists every build argument known at this point, not only this instruction's.
        createdBy = `${NOP}ARG ${this.historyArgs(state, true).map(([k]) => k).join(' ')}`
        break
      }
      case 'ENV': {
        const pairs = instruction.args.map(token => splitPair(this.expand(instruction, token, lookup), instruction))
        let env = c.Env ?? []
        for (const [k, v] of pairs) env = setEnv(env, k, v)
        c.Env = env
        break
      }
      case 'LABEL': {
        const pairs = instruction.args.map(token => splitPair(this.expand(instruction, token, lookup), instruction))
        const labels = {...c.Labels}
        for (const [k, v] of pairs) labels[k] = v
        c.Labels = sortedRecord(labels)
        break
      }
      case 'WORKDIR': {
        const dir = this.expand(instruction, instruction.args.join(' '), lookup)
        c.WorkingDir = posix.normalize(posix.isAbsolute(dir) ? dir : posix.join(c.WorkingDir || '/', dir))
        break
      }
      case 'USER':
        c.User = this.expand(instruction, instruction.args.join(' '), lookup)
        break
      case 'EXPOSE': {
        const ports = {...c.ExposedPorts}
        for (const port of words()) ports[port.includes('/') ? port : `${port}/tcp`] = {}
        c.ExposedPorts = sortedRecord(ports)
        break
      }
      case 'VOLUME': {
        const volumes = {...c.Volumes}
        for (const v of words()) if (v !== '') volumes[v] = {}
        c.Volumes = sortedRecord(volumes)
        break
      }
      case 'ENTRYPOINT':
        c.Entrypoint = this.commandOf(state, instruction)
        if (!state.stage.instructions.slice(0, state.stage.instructions.indexOf(instruction)).some(i => i.keyword === 'CMD')) delete c.Cmd
        break
      case 'CMD':
        c.Cmd = this.commandOf(state, instruction)
        break
      case 'SHELL': {
        if (!instruction.json || instruction.args.length === 0) throw new DockerfileError(instruction.location, 'SHELL requires the arguments to be in JSON form', 'Write SHELL ["/bin/sh", "-c"]')
        state.shell = [...instruction.args]
        if (this.options.format === 'docker') c.Shell = [...instruction.args]
        else this.warnOnce(`SHELL is not supported for OCI image format, [${instruction.args.join(' ')}] will be ignored. Must use \`docker\` format`)
        break
      }
      case 'STOPSIGNAL':
        c.StopSignal = this.expand(instruction, instruction.args.join(' '), lookup)
        break
      case 'MAINTAINER':
        config.author = instruction.args.join(' ')
        break
      case 'HEALTHCHECK': {
        const check = this.healthcheck(state, instruction)
        if (this.options.format === 'docker') c.Healthcheck = check
        else this.warnOnce('HEALTHCHECK is not supported for OCI image format and will be ignored. Must use `docker` format')
        break
      }
      case 'ONBUILD': {
        const trigger = instruction.trigger?.original ?? instruction.args.join(' ')
        if (this.options.format === 'docker') c.OnBuild = [...(c.OnBuild ?? []), trigger]
        else this.warnOnce(`ONBUILD is not supported for OCI image format, ${trigger} will be ignored. Must use \`docker\` format`)
        break
      }
      case 'FROM':
        throw new DockerfileError(instruction.location, 'FROM inside a stage', 'Each FROM starts a new stage')
      default:
        throw new DockerfileError(instruction.location, `unknown instruction: ${instruction.keyword}`)
    }
    state.image = await this.commitMetadata(state, config, createdBy)
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return
    this.warned.add(message)
    this.options.onWarning(message)
  }

  private commandOf(state: StageState, instruction: Instruction): string[] {
    if (instruction.json) return [...instruction.args]
    const text = instruction.args.join(' ')
    return [...state.shell, text]
  }

  private healthcheck(state: StageState, instruction: Instruction): NonNullable<ContainerConfig['Healthcheck']> {
    if (instruction.subcommand?.toUpperCase() === 'NONE') return {Test: ['NONE']}
    const lookup = this.lookupFor(state)
    const duration = (name: string): number | undefined => {
      const value = this.flag(instruction, name, lookup)
      return value === undefined ? undefined : parseDuration(value, instruction)
    }
    const retries = this.flag(instruction, 'retries', lookup)
    const test = instruction.json ? ['CMD', ...instruction.args] : ['CMD-SHELL', instruction.args.join(' ')]
    const check: NonNullable<ContainerConfig['Healthcheck']> = {Test: test}
    const interval = duration('interval')
    const timeout = duration('timeout')
    const start = duration('start-period')
    if (interval !== undefined) check.Interval = interval
    if (timeout !== undefined) check.Timeout = timeout
    if (start !== undefined) check.StartPeriod = start
    if (retries !== undefined) check.Retries = Number(retries)
    return check
  }

  private historyEntry(state: StageState, createdBy: string, empty: boolean, author?: string): HistoryEntry {
    const entry: HistoryEntry = {created: createdTime(this.options.times), created_by: createdBy}
    if (author) entry.author = author
    if (state.comment) entry.comment = state.comment
    if (empty) entry.empty_layer = true
    return entry
  }

  private nextConfig(state: StageState, config: ImageConfig, createdBy: string | undefined, empty: boolean): ImageConfig {
    const out: ImageConfig = {...config, created: createdTime(this.options.times)}
    if (createdBy !== undefined) out.history = [...(config.history ?? []), this.historyEntry(state, createdBy, empty, config.author)]
    return out
  }

  private async commitMetadata(state: StageState, config: ImageConfig, createdBy: string | undefined): Promise<StepImage> {
    const next = await writeImage(this.engine, state.image.layers, undefined, this.nextConfig(state, config, createdBy, true), {format: this.options.format, names: []})
    // A metadata step is its own cache: the same parent and instruction give the same config, hence the same image.
    if (next.existed && this.options.useCache && createdBy !== undefined) this.options.onLine(`--> Using cache ${next.id}`)
    this.noteCreated(next.id!)
    state.comment = `FROM ${next.id!.slice(0, 12)}`
    return next
  }

  private noteCreated(id: string): void {
    if (!this.created.includes(id)) this.created.push(id)
  }

  /**
   * A cached image for the key, announced as Podman does; undefined on a
   * miss or without the cache. The local cache first, then the --cache-from
   * repositories; a hit is also offered to the --cache-to ones.
   */
  private async cached(state: StageState, key: string): Promise<StepImage | undefined> {
    if (!this.options.useCache) return undefined
    const {store} = this.engine
    const remote = this.options.remoteCache
    let id = lookupCache(store, key, this.options.cacheTtlMs)
    let origin: StepOrigin = {built: false}
    if (!id && remote) {
      const hit = await remote.fetch(key, state.image.layers)
      if (hit) {
        await recordCache(store, key, hit.id)
        id = hit.id
        origin = {built: false, repository: hit.repository}
      }
    }
    if (!id) return undefined
    this.options.onLine(`--> Using cache ${id}`)
    remote?.offer(key, id, origin)
    return this.storedStep(id)
  }

  /**
   * With --no-cache, a COPY/ADD whose key the store has seen: the same image,
   * said so on the step's line. Writing its files again would end with an
   * identical layer whose copy is then deleted, and deleting thousands of
   * files slows every file created after it on filesystems that discard
   * freed blocks (a 10,000-file COPY took 2.3 s when new, 8.5 s when its
   * copy was deleted each time, on the project's machine).
   */
  private identicalCopy(key: string): StepImage | undefined {
    if (this.options.useCache || !this.options.reuseIdenticalCopies) return undefined
    const {store} = this.engine
    const id = lookupCache(store, key)
    if (!id) return undefined
    this.options.onLine(`--> Same inputs as ${id.slice(0, 12)}: its identical layer is reused`)
    return this.storedStep(id)
  }

  /** A step image the store holds (a cache entry names only images that still exist). */
  private storedStep(id: string): StepImage {
    const {store} = this.engine
    const record = store.readImages().find(i => i.id === id)!
    return {id, layers: record.layers, config: readConfig(store, record)}
  }

  private cacheSettings(): Record<string, unknown> {
    return {builder: BUILDER_VERSION, format: this.options.format, epoch: this.options.times.epoch, timestamp: this.options.times.timestamp ?? null}
  }

  // ---- RUN ----

  private async runInstruction(state: StageState, instruction: Instruction, position: string): Promise<void> {
    const lookup = this.lookupFor(state)
    const command = this.runCommand(state, instruction)
    const args = this.runArgs(state)
    const networkFlag = this.flag(instruction, 'network', lookup)
    const network = networkFlag === undefined || networkFlag === 'default' ? this.options.network : networkFlag
    if (network !== 'none' && network !== 'host' && network !== 'private') {
      throw new DockerfileError(instruction.location, `RUN --network=${network}: unsupported network mode`, 'Use --network=none, host or default')
    }
    if (this.flag(instruction, 'security', lookup) === 'insecure') {
      throw new DockerfileError(instruction.location, 'RUN --security=insecure is not supported rootless', 'Drop the flag')
    }
    const mounts = this.flags(instruction, 'mount', lookup).map(value => {
      try {
        return parseMountFlag(value)
      } catch (err) {
        if (err instanceof DockerfileError) throw locateDockerfileError(err, instruction.location)
        throw err
      }
    })
    const shown = this.historyArgs(state, false)
    const argPrefix = shown.length > 0 ? `|${shown.length} ${shown.map(([k, v]) => `${k}=${v}`).join(' ')} ` : ''
    // buildah writes `/bin/sh -c` and the instruction as written, whatever the SHELL and the form.
    const createdBy = `${argPrefix}/bin/sh -c ${instruction.original.replace(/^\s*\S+\s/, '')}`
    await this.withRunMounts(state, mounts, instruction, async (specMounts, targets, contents, env) => {
      const key = stepCacheKey({
        parent: state.image.id ?? 'scratch',
        instruction: JSON.stringify(['RUN', command, instruction.flags.map(f => [f.name, f.value ?? null]), network]),
        contents,
        settings: {...this.cacheSettings(), args},
      })
      const hit = await this.cached(state, key)
      if (hit) {
        this.advance(state, hit)
        return
      }
      if (!state.image.id) state.image = await this.commitMetadata(state, state.image.config, undefined)
      const result = await runStep(this.engine, {
        image: state.image.id!,
        argv: command,
        env: [...args.map(([k, v]) => `${k}=${v}`), ...this.proxyEnv(state), ...env],
        network,
        mounts: specMounts,
        mountTargets: targets,
        volumePaths: Object.keys(state.image.config.config?.Volumes ?? {}),
        volumes: this.options.volumes,
        capAdd: this.options.capAdd,
        securityOpt: this.options.securityOpt,
        stdout: this.options.stdout,
        stderr: this.options.stderr,
        abort: this.options.abort,
      }, upper => stageDirectoryLayer(this.engine, upper, state.image.layers.at(-1), {format: this.options.format, times: this.options.times, onWarning: this.options.onWarning, adopt: true}))
      if (result.exitCode !== 0) {
        const where = describeStep(state, instruction, position)
        throw new RunStepError(`building at STEP "${instruction.original}" (${where}): the command exited with status ${result.exitCode}`, {exitCode: result.exitCode})
      }
      const next = await writeImage(this.engine, state.image.layers, result.value, this.nextConfig(state, state.image.config, createdBy, false), {format: this.options.format, names: []})
      await this.commitStep(state, next, key)
    })
  }

  private runCommand(state: StageState, instruction: Instruction): string[] {
    if (instruction.json) return [...instruction.args]
    const text = instruction.args.join(' ')
    if (instruction.heredocs.length > 0) {
      const only = instruction.heredocs.length === 1 && /^\s*\d*<<-?["']?\w+["']?\s*$/.test(text)
      if (only) return [...state.shell, instruction.heredocs[0]!.content]
      return [...state.shell, `${text}\n${instruction.heredocs.map(h => `${h.content}${h.name}`).join('\n')}\n`]
    }
    return [...state.shell, text]
  }

  /**
   * Prepare RUN --mount sources, run fn with the runtime's mount
   * specifications, the digests of bound content (for the cache key) and
   * secret environment variables; views of stages stay mounted until fn ends.
   */
  private async withRunMounts(
    state: StageState,
    mounts: RunMount[],
    instruction: Instruction,
    fn: (specs: string[], targets: Array<{path: string; file: boolean; keep?: boolean}>, contents: string[], env: string[]) => Promise<void>,
  ): Promise<void> {
    const specs: string[] = []
    const targets: Array<{path: string; file: boolean; keep?: boolean}> = []
    const contents: string[] = []
    const env: string[] = []
    const workdir = state.image.config.config?.WorkingDir || '/'
    const absolute = (path: string) => (posix.isAbsolute(path) ? path : posix.join(workdir, path))
    const open = async (i: number): Promise<void> => {
      if (i === mounts.length) return fn(specs, targets, contents, env)
      const mount = mounts[i]!
      switch (mount.type) {
        case 'tmpfs':
          if (!mount.target) throw new DockerfileError(instruction.location, '--mount=type=tmpfs needs a target')
          specs.push(`type=tmpfs,destination=${absolute(mount.target)}${mount.size ? `,tmpfs-size=${mount.size}` : ''}`)
          targets.push({path: absolute(mount.target), file: false})
          return open(i + 1)
        case 'cache': {
          if (!mount.target) throw new DockerfileError(instruction.location, '--mount=type=cache needs a target')
          const dir = join(this.engine.store.graphRoot, 'build-cache-mounts', sha256(mount.id ?? absolute(mount.target)).slice(7, 39))
          if (!existsSync(dir)) {
            mkdirSync(dir, {recursive: true, mode: mount.mode ?? 0o755})
            chmodSync(dir, mount.mode ?? 0o755)
            chownSync(dir, mount.uid ?? 0, mount.gid ?? 0)
          }
          specs.push(`type=bind,source=${dir},destination=${absolute(mount.target)}${mount.readonly ? ',ro' : ''}`)
          targets.push({path: absolute(mount.target), file: false})
          return open(i + 1)
        }
        case 'secret': {
          const id = mount.id ?? (mount.target ? posix.basename(mount.target) : undefined)
          const path = id === undefined ? undefined : this.options.secrets.get(id)
          if (path === undefined) {
            if (mount.required) throw new DockerfileError(instruction.location, `secret ${id ?? '(no id)'} is required but was not given`, `Pass it with --secret id=${id ?? 'ID'},src=FILE`)
            return open(i + 1)
          }
          if (mount.env) env.push(`${mount.env}=${readFileSync(path, 'utf8')}`)
          if (mount.target || !mount.env) {
            const target = absolute(mount.target ?? `/run/secrets/${id}`)
            specs.push(`type=bind,source=${path},destination=${target},ro`)
            // buildah leaves the empty stand-in of a secret mounted at a target of the Dockerfile's choosing.
            targets.push({path: target, file: true, keep: target !== `/run/secrets/${id}`})
          }
          return open(i + 1)
        }
        case 'bind': {
          if (!mount.target) throw new DockerfileError(instruction.location, '--mount=type=bind needs a target')
          const bind = async (root: string, rootName: string, ignore?: IgnoreRules): Promise<void> => {
            const [source] = resolveSource(root, mount.source ?? '.', {rootName, ignore}) as [ResolvedSource]
            const streamOptions: StreamOptions = {times: this.options.times, excludes: [], ignore, keepOwners: mount.from !== undefined}
            contents.push(await digestStream(await normalisedTar(source, 'f', streamOptions)))
            // The context is bound as a copy, so .dockerignore holds and the user's files stay untouched; so is
            // anything mounted rw, whose writes are thrown away afterwards, as BuildKit does.
            if (mount.from !== undefined && mount.readonly) {
              specs.push(`type=bind,source=${source.abs},destination=${absolute(mount.target!)},ro`)
              targets.push({path: absolute(mount.target!), file: !source.isDir})
              return open(i + 1)
            }
            const copy = this.engine.store.stagingPath('build-bind')
            mkdirSync(copy, {recursive: true, mode: 0o755})
            const {rm} = await import('node:fs/promises')
            const cleanup = () => rm(copy, {recursive: true, force: true})
            const unregister = this.options.abort.add(cleanup)
            try {
              const {extractLayer} = await import('../storage/layer-tar.js')
              await extractLayer(await normalisedTar(source, source.isDir ? '' : 'f', streamOptions), copy, {rootless: this.engine.rootless, whiteoutMode: 'delete'})
              specs.push(`type=bind,source=${source.isDir ? copy : join(copy, 'f')},destination=${absolute(mount.target!)}${mount.readonly ? ',ro' : ''}`)
              targets.push({path: absolute(mount.target!), file: !source.isDir})
              return await open(i + 1)
            } finally {
              unregister()
              await cleanup()
            }
          }
          if (mount.from === undefined) return bind(this.options.contextDir, 'build context', this.options.ignore)
          const image = await this.sourceImage(mount.from, instruction)
          return withReadOnlyRootfs(this.engine, image.layers, this.options.abort, root => bind(root, `image ${mount.from}`))
        }
        case 'ssh': {
          const id = mount.id ?? 'default'
          const upstream = this.options.ssh?.get(id)
          if (upstream === undefined) {
            if (mount.required) throw new DockerfileError(instruction.location, `ssh agent ${id} is required but the build was not given it`, id === 'default' ? 'Pass your agent with --ssh default (or a key with --ssh default=KEYFILE)' : `Pass it with --ssh ${id}=SOCKET or --ssh ${id}=KEYFILE`)
            return open(i + 1)
          }
          // BuildKit's default target numbers the RUN's ssh mounts; the first one becomes SSH_AUTH_SOCK.
          const index = mounts.slice(0, i).filter(m => m.type === 'ssh').length
          const target = absolute(mount.target ?? `/run/buildkit/ssh_agent.${index}`)
          const {startSshRelay} = await import('./ssh.js')
          const relay = await startSshRelay(upstream, {uid: mount.uid ?? 0, gid: mount.gid ?? 0, mode: mount.mode ?? 0o600})
          const unregister = this.options.abort.add(relay.close)
          try {
            specs.push(`type=bind,source=${relay.path},destination=${target}`)
            targets.push({path: target, file: true})
            if (!env.some(e => e.startsWith('SSH_AUTH_SOCK=')) && envValue(state.image.config.config?.Env ?? [], 'SSH_AUTH_SOCK') === undefined) env.push(`SSH_AUTH_SOCK=${target}`)
            return await open(i + 1)
          } finally {
            unregister()
            await relay.close()
          }
        }
      }
    }
    await open(0)
  }

  /** A stage by name or index, or an image (pulled per --pull), for --from. */
  private async sourceImage(from: string, instruction: Instruction): Promise<StepImage> {
    const stage = this.findStage(from)
    if (stage !== undefined) {
      const image = this.built.get(stage)
      if (!image) throw new DockerfileError(instruction.location, `stage ${from} has not been built before this step`, 'A stage can only copy from stages above it')
      return image
    }
    return this.resolveBase(from, instruction)
  }

  /** Take a step's image as the stage's current one, remembering it for the cache. */
  private async commitStep(state: StageState, next: StepImage, key: string): Promise<void> {
    this.noteCreated(next.id!)
    await recordCache(this.engine.store, key, next.id!)
    this.options.remoteCache?.offer(key, next.id!, {built: true})
    this.advance(state, next)
  }

  private advance(state: StageState, next: StepImage): void {
    state.image = next
    state.comment = `FROM ${next.id!.slice(0, 12)}`
  }

  // ---- COPY / ADD ----

  private async copy(state: StageState, instruction: Instruction): Promise<void> {
    const lookup = this.lookupFor(state)
    const isAdd = instruction.keyword === 'ADD'
    const words = instruction.json ? instruction.args.map(a => this.expand(instruction, a, lookup)) : instruction.args.map(a => this.expand(instruction, a, lookup))
    if (words.length < 2) throw new DockerfileError(instruction.location, `${instruction.keyword} requires at least two arguments: a source and a destination`)
    const dest = words[words.length - 1]!
    const sources = words.slice(0, -1)
    const from = this.flag(instruction, 'from', lookup)
    const chown = this.flag(instruction, 'chown', lookup)
    const chmodText = this.flag(instruction, 'chmod', lookup)
    const checksum = this.flag(instruction, 'checksum', lookup)
    const parents = this.flag(instruction, 'parents', lookup) === 'true'
    const excludes = this.flags(instruction, 'exclude', lookup)
    const keepGitDir = this.flag(instruction, 'keep-git-dir', lookup) === 'true'
    const workdir = state.image.config.config?.WorkingDir || '/'
    // `.` and `..` name directories, like a trailing slash.
    const namesDir = dest.endsWith('/') || /(^|\/)\.\.?$/.test(dest)
    const destination = `${posix.isAbsolute(dest) ? posix.normalize(dest) : posix.join(workdir, dest)}${namesDir ? '/' : ''}`.replace(/\/\/+$/, '/')
    let chmod
    try {
      chmod = chmodText === undefined ? undefined : parseChmod(chmodText)
    } catch (err) {
      if (err instanceof DockerfileError) throw locateDockerfileError(err, instruction.location)
      throw err
    }
    const owner = chown === undefined ? undefined : resolveUser(chown, path => readImageFile(this.engine.store, state.image.layers, path))
    // Context files become root's; files from a stage or image keep their owners, as buildah does.
    const streamOptions: StreamOptions = {times: this.options.times, owner: owner && {uid: owner.uid, gid: owner.gid}, chmod, excludes, keepOwners: from !== undefined}
    const heredocFiles = new Map(instruction.heredocs.map(h => [h.name, h]))

    const withSources = async (fn: (items: CopyItem[]) => Promise<void>): Promise<void> => {
      if (from !== undefined) {
        const image = await this.sourceImage(from, instruction)
        return withReadOnlyRootfs(this.engine, image.layers, this.options.abort, async root => {
          const items = sources.flatMap(s => resolveSource(root, s, {rootName: `stage or image ${from}`}).map(source => ({source, archive: false})))
          return fn(items)
        })
      }
      const temp = this.engine.store.stagingPath('build-sources')
      const cleanup = async () => {
        const {rm} = await import('node:fs/promises')
        await rm(temp, {recursive: true, force: true})
      }
      const unregister = this.options.abort.add(cleanup)
      try {
        const items: CopyItem[] = []
        for (const written of sources) {
          const marker = /^\d*<<-?["']?([^"']+)["']?$/.exec(written)
          const heredoc = marker ? heredocFiles.get(marker[1]!) : undefined
          if (heredoc) {
            mkdirSync(temp, {recursive: true, mode: 0o700})
            const path = join(temp, `heredoc-${items.length}`)
            const content = heredoc.expand ? this.expand(instruction, heredoc.content, lookup) : heredoc.content
            writeFileSync(path, content, {mode: 0o644})
            items.push({source: {root: temp, abs: path, rel: heredoc.name, isDir: false, wildcard: false}, archive: false, name: heredoc.name})
          } else if (isAdd && isGitUrl(written)) {
            mkdirSync(temp, {recursive: true, mode: 0o700})
            items.push(await this.gitSource(written, join(temp, `git-${items.length}`), {keepGitDir, checksum}, instruction))
          } else if (/^https?:\/\//.test(written)) {
            if (!isAdd) throw new DockerfileError(instruction.location, `COPY cannot fetch ${written}: only ADD takes URLs`, 'Use ADD for URLs')
            mkdirSync(temp, {recursive: true, mode: 0o700})
            items.push(await this.download(written, join(temp, `url-${items.length}`), checksum, instruction))
          } else {
            for (const source of resolveSource(this.options.contextDir, written, {rootName: 'build context', ignore: this.options.ignore})) {
              const archive = isAdd && !source.isDir && (await isLocalArchive(source.abs))
              items.push({source, archive})
            }
          }
        }
        await fn(items)
      } finally {
        unregister()
        await cleanup()
      }
    }

    await withSources(async items => {
      const digests: string[] = []
      // A directory copies its contents (prefix ''): its tar for the key is
      // also the tar to apply, kept in memory for contexts of moderate size.
      const kept = new Map<CopyItem, Buffer>()
      let keptBytes = 0
      for (const item of items) {
        if (item.digest !== undefined) {
          digests.push(item.digest)
        } else if (item.source.isDir && !item.archive && !parents) {
          const {digest, bytes} = await digestAndKeep(await this.itemTar(item, '', streamOptions), KEEP_SOURCE_BYTES - keptBytes)
          digests.push(digest)
          if (bytes) {
            kept.set(item, bytes)
            keptBytes += bytes.length
          }
        } else {
          digests.push(await digestStream(await this.itemTar(item, 'f', streamOptions)))
        }
      }
      const contentDigest = combineDigests(digests)
      const hex = contentDigest.replace(/^sha256:/, '')
      const kind = items.length > 1 ? 'multi' : items[0]!.source.isDir ? 'dir' : 'file'
      // buildah shows the destination as written, variables unexpanded.
      const createdBy = `${NOP}${instruction.keyword} ${kind}:${hex} in ${instruction.args[instruction.args.length - 1]} `
      const key = stepCacheKey({
        parent: state.image.id ?? 'scratch',
        instruction: JSON.stringify([instruction.keyword, destination, sources, from ?? null, chown ?? null, chmodText ?? null, parents, excludes, checksum ?? null]),
        contents: digests,
        settings: this.cacheSettings(),
      })
      const hit = (await this.cached(state, key)) ?? this.identicalCopy(key)
      if (hit) {
        this.advance(state, hit)
        return
      }
      const staged = await withWritableRootfs(this.engine, state.image.layers, this.options.abort, async root => {
        const wildcard = items.some(i => i.source.wildcard)
        const intoDir = destinationIsDirectory(root, destination, items.length, wildcard)
        for (const item of items) {
          const placement = placeSource(destination, item.name ? {...item.source, abs: item.name} : item.source, intoDir, parents, item.archive)
          const bytes = placement.prefix === '' ? kept.get(item) : undefined
          const tar = bytes ? Readable.from([bytes]) : await this.itemTar(item, placement.prefix, streamOptions)
          await applyTar(root, placement.dir, tar, this.engine.rootless, this.options.onWarning, streamOptions.owner)
        }
      }, upper => stageDirectoryLayer(this.engine, upper, state.image.layers.at(-1), {format: this.options.format, times: this.options.times, onWarning: this.options.onWarning, adopt: true}))
      const next = await writeImage(this.engine, state.image.layers, staged, this.nextConfig(state, state.image.config, createdBy, false), {format: this.options.format, names: []})
      await this.commitStep(state, next, key)
    })
  }

  private async itemTar(item: CopyItem, prefix: string, options: StreamOptions) {
    await item.fetch?.()
    // An unpacked archive keeps its own owners; --chown reaches only the directories made for it, as with buildah.
    if (item.archive) return archiveTar(item.source.abs, prefix, {...options, owner: undefined})
    return normalisedTar(item.source, prefix, item.source.root === this.options.contextDir ? {...options, ignore: this.options.ignore} : options)
  }

  /** ADD of a URL: fetched whole, checked against --checksum, mode 0600 as Docker gives it. */
  private async download(url: string, path: string, checksum: string | undefined, instruction: Instruction): Promise<CopyItem> {
    let response: Response
    try {
      response = await fetch(url, {redirect: 'follow'})
    } catch (err) {
      throw new BuildError(`${formatLocation(instruction.location)}: fetching ${url}: ${(err as Error).message}`)
    }
    if (!response.ok) throw new BuildError(`${formatLocation(instruction.location)}: fetching ${url}: HTTP ${response.status} ${response.statusText}`)
    const body = Buffer.from(await response.arrayBuffer())
    if (checksum !== undefined) {
      const actual = sha256(body)
      if (actual !== checksum) throw new BuildError(`${formatLocation(instruction.location)}: ${url}: checksum mismatch: got ${actual}, expected ${checksum}`)
    }
    writeFileSync(path, body, {mode: 0o600})
    chmodSync(path, 0o600)
    const name = posix.basename(new URL(url).pathname) || 'index.html'
    return {source: {root: posix.dirname(path), abs: path, rel: name, isDir: false, wildcard: false}, archive: false, name}
  }

  /**
   * ADD of a git repository: the key holds the commit `git ls-remote`
   * names, so the clone happens only when the step is not cached, and a
   * new commit misses. --checksum, if given, must be (a prefix of) that commit.
   */
  private async gitSource(url: string, dir: string, options: {keepGitDir: boolean; checksum?: string}, instruction: Instruction): Promise<CopyItem> {
    const {cloneGitRepository, parseGitUrl, resolveGitCommit} = await import('./git.js')
    const source = parseGitUrl(url)
    const commit = await resolveGitCommit(source)
    if (options.checksum !== undefined && !(options.checksum.length >= 7 && commit.startsWith(options.checksum))) {
      throw new DockerfileError(instruction.location, `${url}: checksum mismatch: the ref is at commit ${commit}, expected ${options.checksum}`, 'For a git source, --checksum is the commit (or a prefix of at least 7 hex digits)')
    }
    const item: CopyItem = {
      source: {root: dir, abs: dir, rel: '.', isDir: true, wildcard: false},
      archive: false,
      digest: sha256(JSON.stringify(['git', commit, source.subdir ?? '', options.keepGitDir])),
      fetch: async () => {
        item.fetch = undefined
        const root = await cloneGitRepository(source, dir, {commit, keepGitDir: options.keepGitDir})
        item.source = {root, abs: root, rel: '.', isDir: true, wildcard: false}
      },
    }
    return item
  }

  // ---- the result ----

  private async finish(image: StepImage): Promise<StepImage> {
    const {options} = this
    let result = image
    if (options.squashAll || options.squash) result = await this.squash(result)
    const labels = Object.keys(options.labels).length > 0
    if (labels) {
      const config = structuredClone(result.config)
      config.config = {...config.config, Labels: sortedRecord({...config.config?.Labels, ...options.labels})}
      result = await writeImage(this.engine, result.layers, undefined, config, {format: options.format, names: []})
      this.noteCreated(result.id!)
    }
    const names = options.tags.map(qualifyLocalName)
    options.onLine(`${this.plan.stages.length > 1 ? `[${this.order.length}/${this.order.length}] ` : ''}COMMIT${options.tags[0] ? ` ${options.tags[0]}` : ''}`)
    if (names.length > 0 || Object.keys(options.annotations).length > 0) {
      result = await writeImage(this.engine, result.layers, undefined, result.config, {format: options.format, names, annotations: options.annotations})
    }
    options.onLine(`--> ${shortId(result.id!)}`)
    for (const name of names) options.onLine(`Successfully tagged ${name}`)
    return result
  }

  /**
   * --squash-all: one layer holding the whole root file system; --squash:
   * the base image's layers plus one layer holding everything this build added.
   */
  private async squash(image: StepImage): Promise<StepImage> {
    const finalStage = this.plan.stages[this.plan.target]!
    const baseLayers = this.options.squashAll ? [] : await this.baseLayersOf(finalStage)
    const added = image.layers.slice(baseLayers.length)
    if (!this.options.squashAll && added.length <= 1) return image
    const staged = await this.mergeLayers(added, baseLayers.at(-1), this.options.squashAll ? 'delete' : 'overlay')
    const config = structuredClone(image.config)
    const baseHistory = (config.history ?? []).slice(0, this.historyCountFor(config.history ?? [], baseLayers.length))
    config.history = [...baseHistory, {created: createdTime(this.options.times), created_by: `${NOP}squashed`}]
    const next = await writeImage(this.engine, baseLayers, staged, config, {format: this.options.format, names: []})
    this.noteCreated(next.id!)
    return next
  }

  /**
   * Apply `layers` in order to one fresh directory and stage it as a single
   * layer. In 'overlay' mode a deletion stays a whiteout (the squashed layer
   * still sits on the base); with nothing below ('delete') it just deletes.
   */
  private async mergeLayers(layers: string[], parent: string | undefined, whiteoutMode: 'overlay' | 'delete') {
    const {store} = this.engine
    const dir = store.stagingPath('build-squash')
    mkdirSync(dir, {recursive: true, mode: 0o755})
    const {rm} = await import('node:fs/promises')
    const cleanup = () => rm(dir, {recursive: true, force: true})
    const unregister = this.options.abort.add(cleanup)
    try {
      const {extractLayer, packDirectory} = await import('../storage/layer-tar.js')
      for (const layer of layers) {
        await extractLayer(packDirectory(store.layerDiffDir(layer), {onWarning: this.options.onWarning}), dir, {rootless: this.engine.rootless, whiteoutMode, onWarning: this.options.onWarning})
      }
      return await stageDirectoryLayer(this.engine, dir, parent, {format: this.options.format, times: this.options.times, onWarning: this.options.onWarning})
    } finally {
      unregister()
      await cleanup()
    }
  }

  private async baseLayersOf(stage: PlannedStage): Promise<string[]> {
    let current = stage
    while (current.baseStage !== undefined) current = this.plan.stages[current.baseStage]!
    if (current.baseExpanded === 'scratch') return []
    return (await this.resolveBase(current.baseExpanded, current.from)).layers
  }

  /** How many history entries describe the first `layers` layers (empty-layer entries count for free). */
  private historyCountFor(history: HistoryEntry[], layers: number): number {
    let seen = 0
    for (let i = 0; i < history.length; i++) {
      if (!history[i]!.empty_layer) seen++
      if (seen > layers) return i
    }
    return history.length
  }

  private async removeIntermediates(finalId: string): Promise<void> {
    const {removeImages} = await import('../image/images.js')
    const doomed = this.created.filter(id => id !== finalId && !this.engine.store.readImages().find(i => i.id === id)?.names.length)
    if (doomed.length === 0) return
    await removeImages(this.engine.store, doomed, {ignore: true}).catch(err => debug(`removing intermediate images: ${(err as Error).message}`))
  }
}

interface CopyItem {
  source: ResolvedSource
  /** ADD of a local archive: its contents are unpacked. */
  archive: boolean
  /** The file name a here-document or URL source gets. */
  name?: string
  /** Stands for the content in the cache key when reading it would cost a download (a git commit). */
  digest?: string
  /** Puts the content at source.abs; called before it is read. */
  fetch?: () => Promise<void>
}

/** `stage builder, step 3/5, Dockerfile:7`: where a failed step is. */
function describeStep(state: StageState, instruction: Instruction, position: string): string {
  const stage = state.stage.name === undefined ? `stage ${state.stage.index}` : `stage ${state.stage.name}`
  return `${stage}, step ${position}, ${instruction.location.file}:${instruction.location.line}`
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 11)
}

/** Keys in byte order, as Go writes a map: the config's JSON then matches Podman's. */
function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function envValue(env: string[], name: string): string | undefined {
  const prefix = `${name}=`
  for (let i = env.length - 1; i >= 0; i--) if (env[i]!.startsWith(prefix)) return env[i]!.slice(prefix.length)
  return undefined
}

function setEnv(env: string[], name: string, value: string): string[] {
  const prefix = `${name}=`
  const at = env.findIndex(e => e.startsWith(prefix))
  if (at === -1) return [...env, `${name}=${value}`]
  const out = [...env]
  out[at] = `${name}=${value}`
  return out
}

function splitPair(token: string, instruction: Instruction): [string, string] {
  const eq = token.indexOf('=')
  if (eq <= 0) throw new DockerfileError(instruction.location, `${instruction.keyword} ${token}: expected KEY=VALUE`)
  return [token.slice(0, eq), token.slice(eq + 1)]
}

/** Go durations as HEALTHCHECK takes them (`30s`, `1m30s`, `500ms`), in nanoseconds. */
export function parseDuration(text: string, instruction: Instruction): number {
  const units: Record<string, number> = {ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let match: RegExpExecArray | null
  let end = 0
  while ((match = re.exec(text)) !== null) {
    total += Number(match[1]) * units[match[2]!]!
    end = re.lastIndex
  }
  if (end !== text.length || text === '') throw new DockerfileError(instruction.location, `invalid duration "${text}"`, 'Use a Go duration such as 30s or 1m30s')
  return Math.round(total)
}
