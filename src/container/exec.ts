/**
 * `tspod exec`: a new process in a running container. There is no exec
 * session bookkeeping and no second Node start: the OCI runtime's own `exec`
 * runs inside tspod's namespace (through tspod-ns) with this process's stdio,
 * and its exit status is the command's.
 *
 * What crun 1.8 and runc 1.1 do, measured here, shapes the arguments:
 * - `--env` replaces crun's environment but adds to runc's, so the whole
 *   environment (the container's, then the overrides) is always passed;
 * - `--cap` replaces crun's capabilities but adds to runc's, so capabilities
 *   are passed only for --privileged, and then all of them;
 * - `--tty` without `--console-socket` makes either runtime allocate the pty
 *   and relay it itself, but only when its stdin is a terminal (crun) or it
 *   has a controlling terminal (runc): -t therefore needs a terminal here.
 * - A failure to start the command (not found, not executable, bad --workdir)
 *   ends the runtime with status 255 and one line on stderr, which is turned
 *   into Podman's message and exit code (127 not found, 126 cannot invoke).
 * - With `--detach`, a pipe on the runtime's stdout or stderr kills the
 *   detached process once the runtime exits (crun), so a detached exec gets
 *   /dev/null for all three and the runtime's failure is read from its
 *   `--log` file instead.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {lstatSync, readFileSync, rmSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {join} from 'node:path'
import {EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND, InvalidArgumentError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {namespacePrefix} from '../rootless/ns-exec.js'
import {CAPABILITIES} from '../runtime/capabilities.js'
import {resolveUser} from '../runtime/user.js'
import {readSecretEnvironment} from '../secrets/secrets.js'
import type {Store} from '../storage/store.js'
import {containerPaths, currentState, runtimeStateDir, type ContainerRecord} from './container-store.js'
import {readImageFile} from './image-files.js'

export interface ExecOptions {
  command: string[]
  tty: boolean
  interactive: boolean
  detach: boolean
  /** `KEY=VALUE` entries, applied over the container's environment in order. */
  env: string[]
  user?: string
  workdir?: string
  privileged: boolean
}

/** The runtime's exit status when it could not start the command. */
const RUNTIME_FAILURE_STATUS = 255

/**
 * A file of the container as its processes see it, read from outside: the
 * container's upper layer first (a user added with useradd lives there),
 * then the image's layers.
 */
export function readContainerFile(store: Store, record: ContainerRecord, path: string): string | undefined {
  const paths = containerPaths(store, record.id)
  const rel = path.replace(/^\/+/, '')
  const own = record.rootfsKind === 'copy' ? paths.rootfs : paths.diff
  try {
    const st = lstatSync(join(own, rel))
    if (st.isCharacterDevice()) return undefined // deleted in the container
    if (st.isFile()) return readFileSync(join(own, rel), 'utf8')
  } catch {
    // Not changed by the container (or unreadable from outside): the image has it.
  }
  return readImageFile(store, record.layers, path)
}

/** The environment with overrides applied: a name keeps its first position and takes its last value. */
export function mergeEnvironment(base: string[], overrides: string[]): string[] {
  const vars = new Map<string, string>()
  for (const entry of [...base, ...overrides]) {
    const eq = entry.indexOf('=')
    if (eq <= 0) continue
    vars.set(entry.slice(0, eq), entry.slice(eq + 1))
  }
  return [...vars].map(([k, v]) => `${k}=${v}`)
}

function lastCapability(): number {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim())
    return Number.isInteger(n) ? Math.min(n, CAPABILITIES.length - 1) : CAPABILITIES.length - 1
  } catch {
    return CAPABILITIES.length - 1
  }
}

export interface ExecArgsInput {
  runtimePath: string
  stateDir: string
  id: string
  command: string[]
  env: string[]
  cwd: string
  tty: boolean
  detach: boolean
  /** `UID:GID`, when -u was given. */
  user?: string
  /** CAP_* names to grant (--privileged). */
  capabilities: string[]
  /** Where the runtime writes its own errors (detached execs). */
  logFile?: string
}

/**
 * The user the container's own process runs as (its OCI spec's), which is
 * what an exec without -u and a healthcheck get, as in Podman: the runtime
 * alone would run them as root, wrong for --user and --userns=keep-id
 * containers.
 */
export function containerProcessUser(store: Store, record: ContainerRecord): string | undefined {
  try {
    const spec = JSON.parse(readFileSync(join(containerPaths(store, record.id).bundle, 'config.json'), 'utf8')) as {process?: {user?: {uid?: number; gid?: number}}}
    const u = spec.process?.user
    return u && typeof u.uid === 'number' ? `${u.uid}:${u.gid ?? 0}` : undefined
  } catch {
    return undefined
  }
}

/** `RUNTIME --root DIR exec …` for one exec. */
export function runtimeExecArgs(input: ExecArgsInput): string[] {
  const args = [input.runtimePath, '--root', input.stateDir]
  if (input.logFile !== undefined) args.push(`--log=${input.logFile}`)
  args.push('exec')
  if (input.tty) args.push('--tty')
  if (input.detach) args.push('--detach')
  for (const entry of input.env) args.push('--env', entry)
  args.push('--cwd', input.cwd)
  if (input.user !== undefined) args.push('--user', input.user)
  for (const cap of input.capabilities) args.push('--cap', cap)
  args.push(input.id, ...input.command)
  return args
}

// crun colours its messages and puts a timestamp first when it relays a terminal.
const ANSI = /\x1b\[[0-9;]*m/g
const CRUN_TIMESTAMP = /^\d{4}-\d\d-\d\dT[\d:.]+Z: /
// runc reports through logrus: time="…" level=error msg="exec failed: …".
const LOGRUS = /level=error msg="((?:[^"\\]|\\.)*)"/

/** The runtime's own words in one of its failure lines. */
export function runtimeMessage(line: string): string {
  const plain = line.replace(ANSI, '').trim().replace(CRUN_TIMESTAMP, '')
  const logrus = LOGRUS.exec(plain)
  if (!logrus) return plain
  try {
    return JSON.parse(`"${logrus[1]}"`) as string
  } catch {
    return logrus[1]!
  }
}

const NOT_FOUND = /executable file not found in|executable file `[^`]*` not found|no such file or directory/i
const DENIED = /permission denied|operation not permitted/i

/** Podman's message and exit code for a runtime that could not start the command. */
export function classifyExecFailure(runtimeName: string, line: string): TspodError {
  const message = runtimeMessage(line)
  if (DENIED.test(message)) return new TspodError(`${runtimeName}: ${message}: OCI permission denied`, {exitCode: EXIT_CANNOT_INVOKE})
  if (NOT_FOUND.test(message)) {
    return new TspodError(`${runtimeName}: ${message}: OCI runtime attempted to invoke a command that was not found`, {exitCode: EXIT_NOT_FOUND})
  }
  return new TspodError(`${runtimeName}: ${message}: OCI runtime error`, {exitCode: EXIT_CANNOT_INVOKE})
}

/** Whether a complete stderr line may be the runtime's report of a failed start (held back until the exit says). */
export function mayBeRuntimeFailure(line: string): boolean {
  return LOGRUS.test(line) || NOT_FOUND.test(line) || DENIED.test(line) || /^chdir /.test(runtimeMessage(line))
}

/**
 * Passes stderr through at once, except a final complete line that could be
 * the runtime's failure report: that waits for more output (then it was the
 * command's own) or the exit status (255: it was the runtime's).
 */
class StderrRelay {
  private held = Buffer.alloc(0)

  constructor(private readonly out: NodeJS.WritableStream) {}

  push(chunk: Buffer): void {
    const data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk
    this.held = Buffer.alloc(0)
    if (data[data.length - 1] !== 0x0a) {
      this.out.write(data)
      return
    }
    const start = data.lastIndexOf(0x0a, data.length - 2) + 1
    const last = data.subarray(start)
    if (!mayBeRuntimeFailure(last.toString('utf8'))) {
      this.out.write(data)
      return
    }
    if (start > 0) this.out.write(data.subarray(0, start))
    this.held = Buffer.from(last)
  }

  /** The held line, if any, without writing it. */
  take(): string | undefined {
    const text = this.held.length > 0 ? this.held.toString('utf8') : undefined
    this.held = Buffer.alloc(0)
    return text
  }

  flush(): void {
    if (this.held.length > 0) this.out.write(this.held)
    this.held = Buffer.alloc(0)
  }
}

/** Signals a terminal sends to the whole foreground group reach the runtime by themselves; others are passed on. */
const FORWARDED = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const
const GROUP_SIGNALS = ['SIGINT', 'SIGQUIT'] as const

/** Runs the command; resolves with its exit status, or rejects with Podman's error when it could not start. */
export async function execInContainer(engine: Engine, record: ContainerRecord, options: ExecOptions): Promise<number> {
  const {store} = engine
  if (options.command.length === 0) throw new InvalidArgumentError('must provide a non-empty command to start an exec session: invalid argument')
  if (currentState(store, record.id).status !== 'running') {
    throw new TspodError('can only create exec sessions on running containers: container state improper', {hint: `Start it first: tspod start ${record.name}`})
  }
  if (options.tty && !options.detach && !process.stdin.isTTY) {
    throw new InvalidArgumentError('exec -t: the input device is not a TTY: the OCI runtime relays a pseudo-terminal only from one', {hint: 'Run it from a terminal, or leave out -t'})
  }
  if (options.tty && options.detach) {
    throw new InvalidArgumentError('exec -d with -t is not supported: the OCI runtime needs a terminal to relay to', {hint: 'Leave out -t for a detached exec'})
  }
  const overrides = [...options.env]
  let user: string | undefined
  if (options.user !== undefined && options.user !== '') {
    const resolved = resolveUser(options.user, path => readContainerFile(store, record, path))
    user = `${resolved.uid}:${resolved.gid}`
    if (!overrides.some(e => e.startsWith('HOME='))) overrides.unshift(`HOME=${resolved.home}`)
  } else {
    user = containerProcessUser(store, record)
  }
  const capabilities = options.privileged ? CAPABILITIES.slice(0, lastCapability() + 1) : []
  // Env-type secrets come last, over -e too: Podman 4 gives them that precedence in exec, as in run.
  const secretEnv = record.secrets?.some(s => s.Type === 'env') ? await readSecretEnvironment(store, record.secrets) : []
  const input: ExecArgsInput = {
    runtimePath: record.runtime.path,
    stateDir: runtimeStateDir(store),
    id: record.id,
    command: options.command,
    env: mergeEnvironment(record.env, [...overrides, ...secretEnv]),
    cwd: options.workdir ?? record.workdir ?? '/',
    tty: options.tty,
    detach: options.detach,
    user,
    capabilities,
  }
  if (options.detach) return execDetached(engine, record, input)
  const args = runtimeExecArgs(input)
  const full = [...namespacePrefix(store.runRoot), ...args]
  const stdin = options.interactive || options.tty ? 'inherit' : 'ignore'
  const child = spawn(full[0]!, full.slice(1), {stdio: [stdin, 'inherit', 'pipe']})
  const relay = new StderrRelay(process.stderr)
  child.stderr!.on('data', (chunk: Buffer) => relay.push(chunk))
  const handlers: Array<[string, () => void]> = []
  for (const sig of FORWARDED) handlers.push([sig, () => child.kill(sig)])
  for (const sig of GROUP_SIGNALS) handlers.push([sig, () => {}])
  for (const [sig, handler] of handlers) process.on(sig, handler)
  try {
    const status = await waitFor(child, record)
    const held = relay.take()
    if (status === RUNTIME_FAILURE_STATUS && held !== undefined) throw classifyExecFailure(record.runtime.name, held)
    if (held !== undefined) process.stderr.write(held)
    return status
  } finally {
    relay.flush()
    for (const [sig, handler] of handlers) process.off(sig, handler)
  }
}

/** How long stderr may stay open after the runtime exited: a background child of the command can hold it for good. */
const STDERR_GRACE_MS = 200

/** The runtime's exit status, once what it wrote to stderr has been read. */
function waitFor(child: ChildProcess, record: ContainerRecord): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    child.once('error', err => reject(new TspodError(`running ${record.runtime.name} exec: ${err.message}`)))
    child.once('exit', (code, signal) => {
      const status = code ?? 128 + (signal ? osConstants.signals[signal] : 0)
      const stderr = child.stderr
      if (!stderr || stderr.readableEnded) return resolve(status)
      const timer = setTimeout(() => {
        stderr.destroy()
        resolve(status)
      }, STDERR_GRACE_MS)
      stderr.once('end', () => {
        clearTimeout(timer)
        resolve(status)
      })
    })
  })
}

async function execDetached(engine: Engine, record: ContainerRecord, input: ExecArgsInput): Promise<number> {
  // In the container's socket directory, which goes with the container should this process be killed.
  const logFile = join(containerPaths(engine.store, record.id).socketDir, `exec-${process.pid}-${Date.now().toString(36)}.log`)
  const full = [...namespacePrefix(engine.store.runRoot), ...runtimeExecArgs({...input, logFile})]
  try {
    const status = await waitFor(spawn(full[0]!, full.slice(1), {stdio: 'ignore'}), record)
    if (status === 0) return 0
    const line = (readText(logFile) ?? '').trim().split('\n').pop()
    if (line) throw classifyExecFailure(record.runtime.name, line)
    return status
  } finally {
    rmSync(logFile, {force: true})
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
