/**
 * Healthchecks: a command run inside a running container on a schedule; its
 * exit status makes the container healthy or, after `retries` failures in a
 * row, unhealthy, and --health-on-failure says what happens then.
 *
 * The schedule is kept by the container's monitor, which runs
 * `tspod healthcheck run ID` every interval (no systemd timer is needed, so it
 * works the same with and without systemd); one check runs at a time. The
 * result lives in userdata/health.json, written atomically under a lock of
 * its own, in Podman's inspect shape (State.Health).
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import type {ContainerConfig} from '../image/oci.js'
import {namespacePrefix} from '../rootless/ns-exec.js'
import {writeJsonAtomic} from '../util/atomic.js'
import {withLock} from '../util/lock.js'
import {currentState, runtimeStateDir, type ContainerRecord} from './container-store.js'
import {containerProcessUser, mergeEnvironment, runtimeExecArgs} from './exec.js'
import {healthFile, readHealth, type HealthLogEntry, type HealthState} from './health-state.js'

export type {HealthState} from './health-state.js'

export type HealthConfig = NonNullable<ContainerConfig['Healthcheck']>
export type HealthOnFailure = 'none' | 'kill' | 'restart' | 'stop'

/** Docker's defaults, in nanoseconds as image configs store them. */
const SECOND = 1_000_000_000
export const HEALTH_DEFAULTS = {Interval: 30 * SECOND, Timeout: 30 * SECOND, StartPeriod: 0, Retries: 3}
const KEPT_LOG_ENTRIES = 5
const MAX_OUTPUT = 4096

/** A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds; `0`/`disable` for the interval turns scheduling off. */
export function parseDuration(value: string, flag: string): number {
  if (/^\d+$/.test(value)) return Number(value) * SECOND
  const units: Record<string, number> = {ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: SECOND, m: 60 * SECOND, h: 3600 * SECOND}
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    throw new InvalidArgumentError(`invalid argument "${value}" for "--${flag}" flag: time: invalid duration`, {hint: 'Use a duration such as 30s, 1m or 1m30s'})
  }
  let total = 0
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]]
  return Math.round(total)
}

export interface HealthFlags {
  cmd?: string
  interval?: string
  retries?: string
  timeout?: string
  startPeriod?: string
  onFailure?: string
  none: boolean
}

/** The container's healthcheck: the flags over the image's HEALTHCHECK; undefined when there is none. */
export function resolveHealthcheck(image: HealthConfig | undefined, flags: HealthFlags): HealthConfig | undefined {
  if (flags.none) return undefined
  let test = image?.Test
  if (flags.cmd !== undefined) {
    const cmd = flags.cmd.trim()
    if (cmd === '' || cmd.toLowerCase() === 'none') return undefined
    if (cmd.startsWith('[')) {
      try {
        const parsed = JSON.parse(cmd) as unknown
        if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('empty')
        test = parsed[0] === 'CMD' || parsed[0] === 'CMD-SHELL' ? parsed.map(String) : ['CMD', ...parsed.map(String)]
      } catch {
        throw new InvalidArgumentError(`invalid --health-cmd ${cmd}: not a JSON array of strings`, {hint: 'Give a shell command, or a JSON array such as ["curl", "-f", "http://localhost/"]'})
      }
    } else {
      test = ['CMD-SHELL', cmd]
    }
  }
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined
  const retries = flags.retries !== undefined ? Number(flags.retries) : image?.Retries || HEALTH_DEFAULTS.Retries
  if (!Number.isInteger(retries) || retries < 1) throw new InvalidArgumentError(`invalid --health-retries ${flags.retries}: must be a whole number of at least 1`)
  const interval = flags.interval === 'disable' ? 0 : flags.interval !== undefined ? parseDuration(flags.interval, 'health-interval') : image?.Interval || HEALTH_DEFAULTS.Interval
  if (interval !== 0 && interval < SECOND) throw new InvalidArgumentError(`invalid --health-interval ${flags.interval}: must be at least 1 second`)
  return {
    Test: test,
    Interval: interval,
    Timeout: flags.timeout !== undefined ? parseDuration(flags.timeout, 'health-timeout') : image?.Timeout || HEALTH_DEFAULTS.Timeout,
    StartPeriod: flags.startPeriod !== undefined ? parseDuration(flags.startPeriod, 'health-start-period') : image?.StartPeriod || HEALTH_DEFAULTS.StartPeriod,
    Retries: retries,
  }
}

export function parseOnFailure(value: string | undefined): HealthOnFailure {
  if (value === undefined) return 'none'
  if (['none', 'kill', 'restart', 'stop'].includes(value)) return value as HealthOnFailure
  throw new InvalidArgumentError(`invalid --health-on-failure ${value}`, {hint: 'Use none, kill, restart or stop'})
}

/** The command as the runtime runs it: CMD-SHELL through /bin/sh -c, CMD as is. */
function testCommand(test: string[]): string[] {
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')]
  if (test[0] === 'CMD') return test.slice(1)
  return test
}

async function execCapture(engine: Engine, record: ContainerRecord, command: string[], timeoutNs: number): Promise<{code: number; output: string}> {
  // The check is an exec, as in Podman: it sees the env-type secrets too, read now from the secret store.
  let secretEnv: string[] = []
  if (record.secrets?.some(s => s.Type === 'env')) {
    try {
      const {readSecretEnvironment} = await import('../secrets/secrets.js')
      secretEnv = await readSecretEnvironment(engine.store, record.secrets)
    } catch (err) {
      return {code: 125, output: (err as Error).message}
    }
  }
  const args = runtimeExecArgs({
    runtimePath: record.runtime.path,
    stateDir: runtimeStateDir(engine.store),
    id: record.id,
    command,
    env: mergeEnvironment(record.env, secretEnv),
    cwd: record.workdir ?? '/',
    tty: false,
    detach: false,
    user: containerProcessUser(engine.store, record),
    capabilities: [],
  })
  const full = [...namespacePrefix(engine.store.runRoot), ...args]
  return new Promise(resolve => {
    const child = spawn(full[0]!, full.slice(1), {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    const collect = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT) output += chunk.toString('utf8')
    }
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    const timer = timeoutNs > 0 ? setTimeout(() => {
      output += `\nhealthcheck command timed out after ${timeoutNs / SECOND}s`
      child.kill('SIGKILL')
      // The command inside the container may outlive the runtime's exec and keep the pipes open: the check has failed now, not when it ends.
      child.stdout!.destroy()
      child.stderr!.destroy()
      resolve({code: 1, output: output.slice(0, MAX_OUTPUT)})
    }, timeoutNs / 1e6) : undefined
    child.once('error', err => resolve({code: 125, output: err.message}))
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      resolve({code: signal ? 1 : code ?? 1, output: output.slice(0, MAX_OUTPUT)})
    })
  })
}

export interface HealthRunReport {
  status: HealthState['Status']
  /** The action --health-on-failure asks for, when the container just became unhealthy. */
  action?: HealthOnFailure
}

/** Run the check once and record the result; `tspod healthcheck run` and the monitor's schedule both come here. */
export async function runHealthcheck(engine: Engine, record: ContainerRecord): Promise<HealthRunReport> {
  const config = record.healthcheck
  if (!config?.Test) throw new TspodError(`container ${record.name} has no defined healthcheck`, {hint: 'Create it with --health-cmd, or from an image with a HEALTHCHECK'})
  const state = currentState(engine.store, record.id)
  if (state.status !== 'running') throw new TspodError(`container ${record.name} is not running`, {hint: `Start it first: tspod start ${record.name}`})
  const start = new Date()
  const result = await execCapture(engine, record, testCommand(config.Test), config.Timeout ?? HEALTH_DEFAULTS.Timeout)
  const end = new Date()
  const inStartPeriod = state.startedAt !== undefined && end.getTime() - Date.parse(state.startedAt) < (config.StartPeriod ?? 0) / 1e6
  const file = healthFile(engine.store, record.id)
  return withLock(`${file}.lock`, async () => {
    const health = readHealth(engine.store, record)
    const entry: HealthLogEntry = {Start: start.toISOString(), End: end.toISOString(), ExitCode: result.code, Output: result.output.trimEnd()}
    const log = [...(health.Log ?? []), entry].slice(-KEPT_LOG_ENTRIES)
    let next: HealthState
    if (result.code === 0) next = {Status: 'healthy', FailingStreak: 0, Log: log}
    else if (inStartPeriod && health.Status !== 'healthy') next = {Status: 'starting', FailingStreak: health.FailingStreak, Log: log}
    else {
      const streak = health.FailingStreak + 1
      next = {Status: streak >= (config.Retries ?? HEALTH_DEFAULTS.Retries) ? 'unhealthy' : health.Status === '' ? 'starting' : health.Status, FailingStreak: streak, Log: log}
    }
    await writeJsonAtomic(file, next)
    const becameUnhealthy = next.Status === 'unhealthy' && health.Status !== 'unhealthy'
    return {status: next.Status, action: becameUnhealthy && record.healthOnFailure && record.healthOnFailure !== 'none' ? record.healthOnFailure : undefined}
  })
}

/**
 * Where a systemd user manager runs (PID 1 is systemd and the user's manager
 * has its private socket), checks are scheduled as Podman schedules them: a
 * transient timer and service (`systemd-run --user --on-unit-inactive=…`)
 * that run `tspod healthcheck run ID`. Elsewhere the monitor keeps the
 * schedule. The timer stops itself: a check that finds its container gone or
 * stopped, run by systemd (INVOCATION_ID set), stops its own timer.
 */
export function systemdUserManagerRuns(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync('/run/systemd/system') && env.XDG_RUNTIME_DIR !== undefined && existsSync(join(env.XDG_RUNTIME_DIR, 'systemd', 'private'))
}

export function healthTimerUnit(id: string): string {
  return `tspod-healthcheck-${id.slice(0, 12)}`
}

/** The systemd-run command that schedules `command` every interval (nanoseconds). */
export function healthTimerCommand(id: string, intervalNs: number, command: string[]): string[] {
  const seconds = Math.max(1, Math.round(intervalNs / SECOND))
  return ['systemd-run', '--user', '--quiet', `--unit=${healthTimerUnit(id)}`, `--on-unit-inactive=${seconds}s`, '--timer-property=AccuracySec=1s', '--', ...command]
}

/** Start the timer; false when systemd-run failed (the caller falls back to the monitor's schedule). */
export async function startHealthTimer(id: string, intervalNs: number, command: string[]): Promise<boolean> {
  const [file, ...args] = healthTimerCommand(id, intervalNs, command)
  return new Promise(resolve => {
    const child = spawn(file!, args, {stdio: 'ignore'})
    child.once('error', () => resolve(false))
    child.once('exit', code => resolve(code === 0))
  })
}

export async function stopHealthTimer(id: string): Promise<void> {
  await new Promise<void>(resolve => {
    const child = spawn('systemctl', ['--user', 'stop', `${healthTimerUnit(id)}.timer`], {stdio: 'ignore'})
    child.once('error', () => resolve())
    child.once('exit', () => resolve())
  })
}
