import {readFileSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {Writable} from 'node:stream'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {createProgressRenderer, parseDuration, registryAccessOptions} from '../transfer-progress.js'
import {BuildError, InvalidArgumentError} from '../../errors/index.js'
import {hostPlatform} from '../../image/oci.js'
import {warn} from '../../util/log.js'
import type {SshAgents} from '../../build/ssh.js'
import type {Engine} from '../../engine/engine.js'
import type {RemoteCache} from '../../build/remote-cache.js'
import type {RegistryAccessOptions} from '../../registry/session.js'

/**
 * podman-build(1). Runs inside tspod's user namespace (the dispatcher
 * re-executed us there): RUN containers, overlay mounts and layer files all
 * live there. Progress goes to stdout as Podman's does; -q prints only the ID.
 */
export default async function imageBuild(ctx: CommandContext): Promise<number | void> {
  const quiet = flagBool(ctx, 'quiet')
  checkPlatform(flagString(ctx, 'platform'))
  const requested = flagString(ctx, 'format') ?? process.env.BUILDAH_FORMAT ?? 'oci'
  const planAsJson = requested === 'json'
  if (planAsJson && !flagBool(ctx, 'dry-run')) throw new InvalidArgumentError('--format json describes a plan: it needs --dry-run', {hint: 'Use --format oci or docker to build, or add --dry-run'})
  if (!planAsJson && requested !== 'oci' && requested !== 'docker') throw new InvalidArgumentError(`--format ${requested}: use oci or docker`)
  const format = planAsJson ? 'oci' : (requested as 'oci' | 'docker')
  const times = timesFrom(ctx)
  const network = networkFrom(flagString(ctx, 'network'))
  const pull = pullPolicy(flagString(ctx, 'pull'))
  const buildArgs = buildArgsFrom(ctx)
  const sshFlags = flagList(ctx, 'ssh')
  const cacheTtl = flagString(ctx, 'cache-ttl')
  const cacheTtlMs = cacheTtl === undefined ? undefined : parseDuration(cacheTtl, '--cache-ttl')
  const [{prepareContext, readDockerfiles}, {parseDockerfile}, {planBuild, formatPlanText, describePlan}] = await Promise.all([
    import('../../build/context.js'),
    import('../../build/parser.js'),
    import('../../build/plan.js'),
  ])
  const context = await prepareContext(ctx.args[0], process.stdin)
  const secretDir = {path: undefined as string | undefined}
  let sshAgents: SshAgents | undefined
  try {
    const source = await readDockerfiles(flagList(ctx, 'file'), context, process.stdin)
    const shownPath = source.path.startsWith(`${context.dir}/`) ? relative(context.dir, source.path) : source.path
    const dockerfile = parseDockerfile(source.text, shownPath)
    const host = hostPlatform()
    const plan = planBuild(dockerfile, {target: flagString(ctx, 'target'), buildArgs, platform: {os: host.os, architecture: host.architecture}})
    if (flagBool(ctx, 'dry-run')) {
      ctx.stdout.write(planAsJson ? JSON.stringify(describePlan(plan), null, 4) + '\n' : formatPlanText(plan))
      return
    }
    const [{loadIgnore}, {buildImage}, {AbortRegistry}] = await Promise.all([
      import('../../build/ignore.js'),
      import('../../build/executor.js'),
      import('../../build/abort.js'),
    ])
    const ignore = await loadIgnore(context.dir, source.path)
    const engine = await engineFor(ctx)
    const secrets = await secretsFrom(flagList(ctx, 'secret'), secretDir)
    const abort = new AbortRegistry()
    const stopHandling = abort.handleSignals()
    if (sshFlags.length > 0) {
      const {openSshAgents, parseSshFlags} = await import('../../build/ssh.js')
      sshAgents = await openSshAgents(parseSshFlags(sshFlags))
      abort.add(sshAgents.close)
    }
    const access = registryAccessOptions(ctx)
    const sink = new Writable({write: (_chunk, _enc, done) => done()})
    const labels = keyValues(flagList(ctx, 'label'), 'label')
    const annotations = keyValues(flagList(ctx, 'annotation'), 'annotation')
    const pullImage = async (reference: string): Promise<void> => {
      const {pullImages} = await import('../../registry/pull.js')
      const renderer = await createProgressRenderer(ctx, quiet)
      try {
        await pullImages(engine.config, engine.store, reference, {...access, platform: undefined, allTags: false, rootless: engine.rootless, onEvent: renderer.listener, onWarning: warn})
      } finally {
        renderer.stop()
      }
    }
    const layers = ctx.flags.layers !== false
    const remoteCache = await remoteCacheFrom(ctx, layers, engine, access)
    const build = (second: boolean) =>
      buildImage(engine, {
        plan,
        contextDir: context.dir,
        ignore,
        tags: flagList(ctx, 'tag'),
        pull: second ? 'never' : pull,
        useCache: layers && !flagBool(ctx, 'no-cache') && cacheTtlMs !== 0 && !second,
        reuseIdenticalCopies: !second,
        cacheTtlMs,
        remoteCache: second ? undefined : remoteCache,
        keepIntermediates: layers,
        squash: flagBool(ctx, 'squash'),
        squashAll: flagBool(ctx, 'squash-all'),
        labels,
        annotations,
        secrets,
        ssh: sshAgents?.sockets,
        network,
        format,
        times,
        volumes: flagList(ctx, 'volume'),
        capAdd: flagList(ctx, 'cap-add'),
        securityOpt: flagList(ctx, 'security-opt'),
        stdout: quiet || second ? sink : ctx.stdout,
        stderr: ctx.stderr,
        onLine: quiet || second ? () => {} : line => ctx.stdout.write(`${line}\n`),
        onWarning: warn,
        pullImage,
        abort,
      })
    try {
      const report = await build(false)
      if (flagBool(ctx, 'verify')) {
        if (!quiet) ctx.stdout.write('Verifying: building again without the cache\n')
        const again = await build(true)
        if (again.id !== report.id) {
          throw new BuildError(`the build is not reproducible: the first build gave ${report.id}, the second ${again.id}`, {hint: 'Compare the two with tspod image inspect and tspod image diff; a RUN step that writes times, random data or host state is the usual cause'})
        }
        if (!quiet) ctx.stdout.write(`Verified: both builds gave ${report.id}\n`)
      }
      const iidfile = flagString(ctx, 'iidfile')
      if (iidfile !== undefined) {
        await writeFile(iidfile, `sha256:${report.id}`).catch(err => {
          throw new InvalidArgumentError(`writing the image ID to ${iidfile}: ${(err as Error).message}`)
        })
      }
      ctx.stdout.write(`${report.id}\n`)
    } finally {
      stopHandling()
    }
  } finally {
    await context.cleanup()
    await sshAgents?.close()
    if (secretDir.path) await rm(secretDir.path, {recursive: true, force: true})
  }
}

/** --cache-from / --cache-to (repeatable, or comma-separated as Podman takes them); like Podman, they need --layers. */
async function remoteCacheFrom(ctx: CommandContext, layers: boolean, engine: Engine, access: RegistryAccessOptions): Promise<RemoteCache | undefined> {
  const split = (flag: string) => flagList(ctx, flag).flatMap(v => v.split(',')).map(v => v.trim()).filter(v => v !== '')
  const from = split('cache-from')
  const to = split('cache-to')
  if (from.length === 0 && to.length === 0) return undefined
  if (!layers) {
    warn('--cache-from and --cache-to are ignored with --layers=false: only intermediate images can be cached')
    return undefined
  }
  const {RemoteCache} = await import('../../build/remote-cache.js')
  return new RemoteCache(engine, {from, to, access, onWarning: warn})
}

function checkPlatform(platform: string | undefined): void {
  if (platform === undefined) return
  const host = hostPlatform()
  for (const one of platform.split(',')) {
    const [os, arch] = one.split('/')
    if (os !== host.os || (arch !== undefined && arch !== host.architecture)) {
      throw new InvalidArgumentError(`--platform ${one}: only the host platform (${host.os}/${host.architecture}) can be built: no emulator is registered`, {hint: `Drop --platform, or use --platform ${host.os}/${host.architecture}`})
    }
  }
}

function seconds(value: string, flag: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} ${value}: expected whole seconds since the epoch`)
  return Number(value.trim())
}

function timesFrom(ctx: CommandContext): {epoch: number; timestamp?: number} {
  const timestamp = flagString(ctx, 'timestamp')
  if (timestamp !== undefined) {
    const t = seconds(timestamp, '--timestamp')
    return {epoch: t, timestamp: t}
  }
  const flag = flagString(ctx, 'source-date-epoch')
  if (flag !== undefined) return {epoch: seconds(flag, '--source-date-epoch')}
  const env = process.env.SOURCE_DATE_EPOCH
  if (env !== undefined && env !== '') return {epoch: seconds(env, 'SOURCE_DATE_EPOCH')}
  return {epoch: 0}
}

function networkFrom(value: string | undefined): 'none' | 'host' | 'private' {
  if (value === undefined || ['private', 'default', 'slirp4netns', 'bridge', 'pasta'].includes(value)) return 'private'
  if (value === 'none' || value === 'host') return value
  throw new InvalidArgumentError(`--network ${value}: use none, host or private`)
}

function pullPolicy(value: string | undefined): 'always' | 'missing' | 'never' | 'newer' {
  if (value === undefined || value === 'false' || value === 'missing') return 'missing'
  if (value === 'true' || value === 'always') return 'always'
  if (value === 'never' || value === 'newer') return value
  throw new InvalidArgumentError(`--pull ${value}: use always, missing, never or newer`)
}

/** --build-arg-file lines first, then --build-arg; `NAME` alone takes the value from the environment. */
function buildArgsFrom(ctx: CommandContext): Record<string, string> {
  const out: Record<string, string> = {}
  const add = (entry: string) => {
    const eq = entry.indexOf('=')
    if (eq === -1) {
      const value = process.env[entry]
      if (value !== undefined) out[entry] = value
    } else {
      out[entry.slice(0, eq)] = entry.slice(eq + 1)
    }
  }
  for (const file of flagList(ctx, 'build-arg-file')) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new InvalidArgumentError(`--build-arg-file ${file}: ${(err as Error).message}`)
    }
    for (const line of text.split('\n')) {
      const trimmed = line.trim()
      if (trimmed !== '' && !trimmed.startsWith('#')) add(trimmed)
    }
  }
  for (const entry of flagList(ctx, 'build-arg')) add(entry)
  return out
}

function keyValues(entries: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    if (eq <= 0) throw new InvalidArgumentError(`--${what} ${entry}: expected KEY=VALUE`)
    out[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return out
}

/** --secret id=ID,src=PATH | id=ID,env=VAR (type=file|env accepted): id → a file holding the secret. */
async function secretsFrom(entries: string[], dir: {path: string | undefined}): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const entry of entries) {
    const fields = Object.fromEntries(entry.split(',').map(f => {
      const eq = f.indexOf('=')
      return eq === -1 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)]
    })) as Record<string, string>
    const id = fields.id
    if (!id) throw new InvalidArgumentError(`--secret ${entry}: id= is required`, {hint: 'Use --secret id=ID,src=FILE or id=ID,env=VARIABLE'})
    const src = fields.src ?? fields.source
    const env = fields.env ?? (fields.type === 'env' ? id : undefined)
    if (src !== undefined && fields.type !== 'env') {
      try {
        readFileSync(src)
      } catch (err) {
        throw new InvalidArgumentError(`--secret ${entry}: ${(err as Error).message}`)
      }
      out.set(id, src)
    } else if (env !== undefined) {
      const value = process.env[env]
      if (value === undefined) throw new InvalidArgumentError(`--secret ${entry}: the environment variable ${env} is not set`)
      dir.path ??= await mkdtemp(join(tmpdir(), 'tspod-secrets-'))
      const path = join(dir.path, id)
      await writeFile(path, value, {mode: 0o600})
      out.set(id, path)
    } else {
      throw new InvalidArgumentError(`--secret ${entry}: give src=FILE or env=VARIABLE`)
    }
  }
  return out
}
