/**
 * `tspod auto-update` (podman-auto-update(1)): containers labelled
 * `io.containers.autoupdate=registry` are compared with their image in the
 * registry (by manifest digest) and, when it changed, the image is pulled and
 * the container restarted on it; `=local` compares with the image that now
 * holds the container's image name in local storage.
 *
 * Restarting is what the container's systemd unit would do. Where a systemd
 * user manager runs and the container names its unit (PODMAN_SYSTEMD_UNIT,
 * set by units from `generate systemd` and Quadlet), tspod asks systemd to
 * restart the unit, as Podman does. Where none runs (PID 1 is not systemd, or
 * no unit), tspod does the unit's work itself: it stops and removes the
 * container and runs its create command again; Podman cannot update such
 * containers at all.
 *
 * A restart counts as done only when the new container stays up: healthy
 * when it has a healthcheck, still running a few seconds later when not.
 * Otherwise, with rollback on, the previous image gets the name back and the
 * container is restarted again on it.
 */
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {parseArgv, type ParsedArgv} from '../cli/argv.js'
import type {CommandSpec} from '../cli/command-spec.js'
import type {Engine} from '../engine/engine.js'
import {InvalidArgumentError, NoSuchImageError, TspodError} from '../errors/index.js'
import {appendEvent} from '../events/events.js'
import type {ImageRecord} from '../storage/store.js'
import {debug} from '../util/log.js'
import {currentState, findContainer, readAllRecords, readRecord, type ContainerRecord} from './container-store.js'

export const AUTO_UPDATE_LABEL = 'io.containers.autoupdate'
export const AUTHFILE_LABEL = 'io.containers.autoupdate.authfile'
export const UNIT_VARIABLE = 'PODMAN_SYSTEMD_UNIT'

export type AutoUpdatePolicy = 'registry' | 'local'
export type UpdateStatus = 'true' | 'false' | 'pending' | 'rolled back' | 'failed'

/** One row of the output, in Podman's field names (the --format placeholders). */
export interface AutoUpdateReport {
  Unit: string
  /** `ID[:12] (name)` */
  Container: string
  ContainerName: string
  ContainerID: string
  Image: string
  Policy: AutoUpdatePolicy
  Updated: UpdateStatus
}

export interface AutoUpdateResult {
  reports: AutoUpdateReport[]
  errors: TspodError[]
  /** Why an update was rolled back, one line per container: for the user, not errors (the rollback succeeded). */
  rollbacks: string[]
}

/** How a unit is restarted; where no systemd user manager runs, `available` is false and tspod restarts containers itself. */
export interface SystemdControl {
  available(): Promise<boolean>
  restart(unit: string): Promise<void>
}

export interface AutoUpdateOptions {
  dryRun: boolean
  rollback: boolean
  /** --authfile; a container's io.containers.autoupdate.authfile label wins. */
  authfile?: string
  /** --tls-verify; undefined leaves it to registries.conf. */
  tlsVerify?: boolean
  /** `run`'s flags, to read a container's create command. */
  runSpec: CommandSpec
  /** Run a container's create command again, detached, as `tspod run` would; returns the new container. */
  recreate: (template: ContainerRecord, command: CreateCommand) => Promise<ContainerRecord>
  systemd?: SystemdControl
  /** How long a container without a healthcheck must stay up after a restart. */
  settleMs?: number
}

const DEFAULT_SETTLE_MS = 3000
/** Added to a healthcheck's own bound (start period + interval × retries + timeout), for scheduling slack. */
const HEALTH_SLACK_MS = 5000
/** A healthcheck whose schedule is disabled is run by auto-update itself, this often. */
const OWN_CHECK_EVERY_MS = 1000
const POLL_MS = 200
const SYSTEMD_RUNNING = new Set(['running', 'degraded', 'starting', 'initializing', 'maintenance'])
const GLOBAL_WITH_VALUE = new Set(['--root', '--runroot', '--storage-driver', '--runtime', '--log-level'])

/** The label's value as a policy; undefined for none or `disabled`. */
export function lookupPolicy(value: string | undefined): AutoUpdatePolicy | undefined {
  if (value === undefined || value === '' || value === 'disabled') return undefined
  if (value === 'registry' || value === 'image') return 'registry'
  if (value === 'local') return 'local'
  throw new InvalidArgumentError(`invalid auto-update policy "${value}": valid policies are "disabled", "image", "local", "registry"`, {hint: `Recreate the container with --label ${AUTO_UPDATE_LABEL}=registry or =local`})
}

/** The unit a container runs in: the PODMAN_SYSTEMD_UNIT label, else its environment. */
export function systemdUnitOf(record: Pick<ContainerRecord, 'labels' | 'env'>): string | undefined {
  const label = record.labels[UNIT_VARIABLE]
  if (label) return label
  const entry = record.env.find(e => e.startsWith(`${UNIT_VARIABLE}=`))
  const value = entry?.slice(UNIT_VARIABLE.length + 1)
  return value ? value : undefined
}

/** A create command read back: its leading global options and `run`'s flags and arguments. */
export interface CreateCommand {
  /** The command line after `tspod`, as recorded. */
  argv: string[]
  parsed: ParsedArgv
  image: string
}

/** Read `tspod [globals] [container] run|create …` with run's flags, as the unit generator does. */
export function parseCreateCommand(words: string[], runSpec: CommandSpec): CreateCommand {
  const argv = words[0] === 'tspod' || words[0]?.endsWith('/tspod') ? words.slice(1) : words
  const globals: string[] = []
  let i = 0
  while (i < argv.length && argv[i]!.startsWith('-')) {
    globals.push(argv[i]!)
    if (GLOBAL_WITH_VALUE.has(argv[i]!)) globals.push(argv[++i]!)
    i++
  }
  if (argv[i] === 'container') i++
  if (argv[i] !== 'run' && argv[i] !== 'create') {
    throw new InvalidArgumentError(`the create command "${words.join(' ')}" is not a run or create command`, {hint: 'Recreate the container with tspod run, or run it from a systemd unit'})
  }
  const parsed = parseArgv(runSpec, [...globals, ...argv.slice(i + 1)], 'tspod run')
  const image = parsed.args[0]
  if (!image) throw new InvalidArgumentError(`the create command "${words.join(' ')}" names no image`)
  return {argv, parsed, image}
}

export async function systemdControl(): Promise<SystemdControl> {
  let known: boolean | undefined
  return {
    async available() {
      known ??= existsSync('/run/systemd/system') && SYSTEMD_RUNNING.has((await systemctl(['is-system-running'])).stdout.trim())
      return known
    },
    async restart(unit) {
      const result = await systemctl(['restart', unit])
      if (result.code !== 0) throw new TspodError(`restarting systemd unit ${unit}: ${result.stderr.trim().split('\n').pop() ?? `systemctl exited with ${result.code}`}`, {hint: `See: systemctl --user status ${unit}`})
    },
  }
}

function systemctl(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise(resolve => {
    const child = spawn('systemctl', ['--user', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', err => resolve({code: 127, stdout, stderr: err.message}))
    child.once('close', code => resolve({code: code ?? 1, stdout, stderr}))
  })
}

interface Candidate {
  record: ContainerRecord
  policy: AutoUpdatePolicy
  unit?: string
  command?: CreateCommand
  /** Why the create command cannot be read; fatal only when tspod must run it. */
  commandError?: TspodError
  rawImage: string
}

function asTspodError(err: unknown): TspodError {
  return err instanceof TspodError ? err : new TspodError((err as Error).message ?? String(err))
}

/** Running containers with an auto-update policy, by name; a bad label is an error of its own. */
function findCandidates(engine: Engine, runSpec: CommandSpec, errors: TspodError[]): Candidate[] {
  const out: Candidate[] = []
  for (const record of readAllRecords(engine.store)) {
    const value = record.labels[AUTO_UPDATE_LABEL]
    if (value === undefined) continue
    if (currentState(engine.store, record.id).status !== 'running') continue
    let policy: AutoUpdatePolicy | undefined
    try {
      policy = lookupPolicy(value)
    } catch (err) {
      errors.push(new TspodError(`auto-updating container ${record.name}: ${(err as Error).message}`, {hint: (err as TspodError).hint}))
      continue
    }
    if (!policy) continue
    let command: CreateCommand | undefined
    let commandError: TspodError | undefined
    try {
      command = parseCreateCommand(record.createCommand, runSpec)
    } catch (err) {
      commandError = asTspodError(err)
    }
    out.push({record, policy, unit: systemdUnitOf(record), command, commandError, rawImage: command?.image ?? record.imageName})
  }
  return out.sort((a, b) => a.record.name.localeCompare(b.record.name))
}

/** The digests that name `rawImage` in its registry now: the tag's manifest, and for a list the instance for this host. */
async function remoteDigests(engine: Engine, rawImage: string, access: {authfile?: string; tlsVerify?: boolean}): Promise<string[]> {
  const [{formatReference, normalizeReference, parseReference, referenceName, withDefaultTag, isShortName}, {fetchManifest, selectPlatform}, {openRegistryClient}, {repositoryScope}] = await Promise.all([
    import('../image/reference.js'),
    import('../registry/pull.js'),
    import('../registry/session.js'),
    import('../registry/auth.js'),
  ])
  const parsed = parseReference(rawImage)
  if (isShortName(parsed) || parsed.digest !== undefined) {
    throw new InvalidArgumentError(`the registry policy needs a fully-qualified image reference with a tag (such as quay.io/podman/stable:latest), not ${rawImage}`, {hint: 'Recreate the container from the image\'s full name'})
  }
  const ref = withDefaultTag(normalizeReference(parsed))
  const shown = formatReference(ref)
  const client = openRegistryClient(engine.config, referenceName(ref), {...access, retry: 1})
  try {
    const top = await fetchManifest(client, engine.store, ref.path, ref.tag!, repositoryScope(ref.path, ['pull']), shown)
    const data = JSON.parse(top.bytes.toString('utf8')) as {manifests?: unknown}
    if (!Array.isArray(data.manifests)) return [top.digest]
    const instance = selectPlatform(data as Parameters<typeof selectPlatform>[0], undefined, shown)
    return [top.digest, instance.digest]
  } finally {
    client.close()
  }
}

/**
 * Pull as `tspod pull` in a child: layers are written inside tspod's user
 * namespace, which this process (kept outside, like `run`) is not in. Its
 * progress goes to stderr, as Podman's does during auto-update.
 */
async function pullImage(engine: Engine, rawImage: string, access: {authfile?: string; tlsVerify?: boolean}): Promise<void> {
  const args = [
    process.argv[1]!, '--root', engine.store.graphRoot, '--runroot', engine.store.runRoot, '--storage-driver', engine.store.driver,
    'pull', ...(access.authfile ? ['--authfile', access.authfile] : []), ...(access.tlsVerify !== undefined ? [`--tls-verify=${access.tlsVerify}`] : []), rawImage,
  ]
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, args, {stdio: ['ignore', 'ignore', 2]})
    child.once('error', reject)
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 125)))
  })
  if (code !== 0) throw new TspodError(`pulling ${rawImage} failed (see the error above)`)
}

function imageById(engine: Engine, id: string): ImageRecord | undefined {
  return engine.store.readImages().find(i => i.id === id)
}

/** The image that holds `rawImage` in local storage now. */
async function localImageOf(engine: Engine, rawImage: string): Promise<ImageRecord> {
  const {findImage} = await import('../image/lookup.js')
  const image = findImage(engine.store.readImages(), rawImage, {searchRegistries: () => engine.config.registries.unqualifiedSearchRegistries})
  if (!image) throw new NoSuchImageError(rawImage)
  return image
}

/** Why the restarted container is not up, or undefined when it is. */
async function checkStarted(engine: Engine, record: ContainerRecord, settleMs: number): Promise<string | undefined> {
  const config = record.healthcheck
  const exited = (): string | undefined => {
    const state = currentState(engine.store, record.id)
    // Its restart policy may have brought it back: running again is not staying up.
    if (state.restartCount > 0) return `exited and was restarted ${state.restartCount} time${state.restartCount === 1 ? '' : 's'} by its restart policy`
    if (state.status === 'running') return undefined
    return state.exitCode !== undefined ? `exited with code ${state.exitCode}` : `is ${state.status}`
  }
  if (!config?.Test) {
    await sleep(settleMs)
    return exited()
  }
  const {readHealth} = await import('./health-state.js')
  const {HEALTH_DEFAULTS, runHealthcheck} = await import('./health.js')
  const interval = config.Interval ?? HEALTH_DEFAULTS.Interval
  const retries = config.Retries ?? HEALTH_DEFAULTS.Retries
  const boundMs = ((config.StartPeriod ?? 0) + (interval || OWN_CHECK_EVERY_MS * 1e6) * retries + (config.Timeout ?? HEALTH_DEFAULTS.Timeout)) / 1e6 + HEALTH_SLACK_MS
  const deadline = Date.now() + boundMs
  let nextOwnCheck = Date.now() + OWN_CHECK_EVERY_MS
  for (;;) {
    const gone = exited()
    if (gone) return gone
    const health = readHealth(engine.store, record)
    if (health.Status === 'healthy') return undefined
    if (health.Status === 'unhealthy') {
      const last = health.Log?.at(-1)
      return `is unhealthy${last ? ` (its healthcheck exited with ${last.ExitCode}${last.Output ? `: ${last.Output.split('\n')[0]}` : ''})` : ''}`
    }
    if (Date.now() >= deadline) return `did not become healthy within ${Math.round(boundMs / 1000)}s`
    // The monitor schedules checks; with the schedule disabled nobody would, so auto-update runs them.
    if (interval === 0 && Date.now() >= nextOwnCheck) {
      await runHealthcheck(engine, record).catch(err => debug(`healthcheck of ${record.name}: ${(err as Error).message}`))
      nextOwnCheck = Date.now() + OWN_CHECK_EVERY_MS
    }
    await sleep(POLL_MS)
  }
}

/** Stop and remove the container that holds the name, as a unit's ExecStop/ExecStopPost do, and free its --cidfile. */
async function removeCurrent(engine: Engine, template: ContainerRecord): Promise<void> {
  const {removeContainer} = await import('./lifecycle.js')
  const entry = findContainer(engine.store, template.name)
  if (!entry || !entry.names.includes(template.name)) return
  const current = readRecord(engine.store, entry.id)
  await removeContainer(engine, entry.id, {force: true, timeoutSeconds: current.stopTimeout}).catch(err => {
    if (findContainer(engine.store, entry.id)) throw err
  })
  if (current.cidFile) {
    try {
      if (readFileSync(current.cidFile, 'utf8').trim() === entry.id) rmSync(current.cidFile, {force: true})
    } catch {
      // no cidfile left: nothing to free
    }
  }
}

/**
 * Check and update every labelled container. Updates of one store are
 * serialized (a lock under the run root): two runs at once, say a timer's and
 * a user's, would otherwise both replace the same containers.
 */
export async function autoUpdate(engine: Engine, options: AutoUpdateOptions): Promise<AutoUpdateResult> {
  if (options.dryRun) return updateAll(engine, options)
  const {withLock} = await import('../util/lock.js')
  return withLock(join(engine.store.runRoot, 'auto-update.lock'), () => updateAll(engine, options))
}

async function updateAll(engine: Engine, options: AutoUpdateOptions): Promise<AutoUpdateResult> {
  const reports: AutoUpdateReport[] = []
  const errors: TspodError[] = []
  const rollbacks: string[] = []
  const candidates = findCandidates(engine, options.runSpec, errors)
  if (candidates.length === 0) return {reports, errors, rollbacks}
  appendEvent(engine.store.runRoot, {Type: 'system', Status: 'auto-update'})
  const systemd = options.systemd ?? await systemdControl()
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS
  const remote = new Map<string, Promise<string[]>>()
  const pulled = new Map<string, Promise<void>>()

  /** Restart on whatever image the name holds now; returns the container that then holds the name. */
  const restart = async (c: Candidate): Promise<ContainerRecord> => {
    if (c.unit && await systemd.available()) {
      await systemd.restart(c.unit)
      const entry = findContainer(engine.store, c.record.name)
      if (!entry) throw new TspodError(`systemd unit ${c.unit} restarted, but no container named ${c.record.name} runs`, {hint: `See: systemctl --user status ${c.unit}`})
      return readRecord(engine.store, entry.id)
    }
    if (!c.command) throw c.commandError!
    await removeCurrent(engine, c.record)
    return options.recreate(c.record, c.command)
  }

  for (const c of candidates) {
    const {record} = c
    const report: AutoUpdateReport = {
      Unit: c.unit ?? '',
      Container: `${record.id.slice(0, 12)} (${record.name})`,
      ContainerName: record.name,
      ContainerID: record.id,
      Image: c.rawImage,
      Policy: c.policy,
      Updated: 'failed',
    }
    reports.push(report)
    const fail = (what: string, err: unknown): void => {
      const e = asTspodError(err)
      errors.push(new TspodError(`auto-updating container ${record.name}: ${what}: ${e.message}`, {hint: e.hint}))
    }
    const access = {authfile: record.labels[AUTHFILE_LABEL] ?? options.authfile, tlsVerify: options.tlsVerify}
    const previous = imageById(engine, record.image)
    if (!previous) {
      fail(`its image ${record.image.slice(0, 12)}`, new NoSuchImageError(record.image))
      continue
    }
    let needed: boolean
    try {
      if (c.policy === 'registry') {
        if (!remote.has(c.rawImage)) remote.set(c.rawImage, remoteDigests(engine, c.rawImage, access))
        const digests = await remote.get(c.rawImage)!
        needed = !digests.some(d => previous.digest === d || previous.digests.includes(d))
      } else {
        needed = (await localImageOf(engine, c.rawImage)).id !== previous.id
      }
    } catch (err) {
      fail(`checking ${c.rawImage}${c.policy === 'registry' ? ' in its registry' : ''}`, err)
      continue
    }
    if (!needed) {
      report.Updated = 'false'
      continue
    }
    if (options.dryRun) {
      report.Updated = 'pending'
      continue
    }
    if (c.policy === 'registry') {
      if (!pulled.has(c.rawImage)) pulled.set(c.rawImage, pullImage(engine, c.rawImage, access))
      try {
        await pulled.get(c.rawImage)
      } catch (err) {
        fail(`updating ${c.rawImage}`, err)
        continue
      }
    }
    debug(`auto-updating ${record.name} (${c.policy} image ${c.rawImage})`)
    let problem: string
    try {
      const restarted = await restart(c)
      const down = await checkStarted(engine, restarted, settleMs)
      if (!down) {
        report.Updated = 'true'
        continue
      }
      problem = `the updated container ${down}`
    } catch (err) {
      problem = `restarting it: ${asTspodError(err).message}`
    }
    if (!options.rollback) {
      fail('after the update', new TspodError(problem, {hint: 'Run with --rollback (the default) to go back to the previous image'}))
      continue
    }
    try {
      const {tagImage} = await import('../image/images.js')
      await tagImage(engine.store, previous.id, [c.rawImage])
      await restart(c)
    } catch (err) {
      fail(`rolling back to image ${previous.id.slice(0, 12)} after ${problem}`, err)
      continue
    }
    report.Updated = 'rolled back'
    rollbacks.push(`container ${record.name} rolled back to image ${previous.id.slice(0, 12)}: ${problem}`)
  }
  return {reports, errors, rollbacks}
}
