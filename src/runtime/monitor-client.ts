/**
 * The TypeScript side of build/tspod-monitor, the C process that creates,
 * starts and watches one container (conmon's job). The CLI never calls the
 * OCI runtime itself: it starts a monitor (through tspod-ns when rootless),
 * reads its sync messages, attaches to its socket, and reads its exit file.
 * The protocol is docs/monitor-protocol.md, section "tspod-monitor".
 *
 * On the hot path of `tspod run`: Node built-ins only, nothing at import time.
 * Runtime failures are classified here, once, into a MonitorError (a
 * RuntimeError) that keeps the runtime's own words.
 */
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {constants as osConstants} from 'node:os'
import type {Readable, Writable} from 'node:stream'
import {EXIT_CANNOT_INVOKE, EXIT_ENGINE, EXIT_NOT_FOUND, RuntimeError, isErrno} from '../errors/index.js'

export type MonitorStage = 'setup' | 'mount' | 'create' | 'network' | 'start'
export type MonitorLogDriver = 'k8s-file' | 'none' | 'passthrough'

/** One field per monitor flag (see monitorArgs for the mapping). */
export interface MonitorStartOptions {
  /** build/tspod-monitor. */
  monitorPath: string
  /**
   * argv put in front of the monitor to enter tspod's namespace, as
   * namespacePrefix() makes it: [tspod-ns, --runroot, RR, --uidmap, M, --gidmap, M, --].
   * Takes precedence over nsHelper. Empty: the monitor runs directly.
   */
  nsPrefix?: string[]
  /** build/tspod-ns; with neither this nor nsPrefix the monitor runs directly (real root, or already inside). */
  nsHelper?: string
  /** tspod-ns --runroot; required with nsHelper. */
  runRoot?: string
  /** tspod-ns --uidmap/--gidmap, for when the namespace has to be created. */
  idMappings?: {uidmap: string; gidmap: string}
  /** --cid: the full container id. */
  cid: string
  /** --name, for messages. */
  name?: string
  /** --runtime: crun, runc, or any OCI runtime (a path, or a name found in PATH). */
  runtime: string
  /** --runtime-root: the runtime's state directory (`--root` of every runtime call). */
  runtimeRoot: string
  /** --runtime-arg, each: extra global runtime arguments. */
  runtimeArgs?: string[]
  /** --bundle: the directory holding config.json. */
  bundle: string
  /** --socket-dir: holds `attach`, `console` and `monitor.err`; keep it short (< 90 bytes). */
  socketDir: string
  /** --exit-file: "CODE NANOSECONDS\n", written atomically when the container exits. */
  exitFile: string
  /** --pid-file, passed to `runtime create`. */
  pidFile: string
  /** --log-path: the k8s-file log (required unless logDriver is none or passthrough). */
  logPath?: string
  /** --log-driver; default k8s-file. passthrough hands this process's own stdio to the container. */
  logDriver?: MonitorLogDriver
  /** --log-max-size in bytes: beyond it the log moves to LOG.1 and a new one starts. */
  logMaxSize?: number
  /** --terminal (-t). */
  terminal?: boolean
  /** --stdin (-i): the container's stdin is fed by attach clients; otherwise /dev/null. */
  stdin?: boolean
  /** --mount-overlay: the full option string (lowerdir=…,upperdir=…,workdir=…[,userxattr]); needs mountTarget. */
  mountOverlay?: string
  /** --mount-target: where the overlay is mounted before create and unmounted (MNT_DETACH) after exit. */
  mountTarget?: string
  /** --rm-dir, each: removed after exit and cleanup (container --rm). */
  rmDirs?: string[]
  /** --removable-dir, each: removed after cleanup only when a client sends a remove frame (requestRemoval). */
  removableDirs?: string[]
  /** --exit-command PATH --exit-command-arg ARG...: run after cleanup (e.g. `tspod container cleanup ID`). */
  exitCommand?: string[]
  /** --start-fd: wait for handle.start() before `runtime start`; default true. */
  waitForStart?: boolean
  /** --slirp4netns PATH: network the container through slirp4netns. */
  slirp4netns?: string
  /** The network's options as the network module builds them (--slirp4netns/--pasta PATH, --network-arg, --publish). */
  networkArgs?: string[]
  /** --sdnotify-socket: MAINPID and READY=1 go there once the container runs (systemd Type=notify). */
  sdnotifySocket?: string
  /** --sdnotify-container: the container sends READY=1 itself (the runtime passes the socket in); the monitor sends MAINPID only. */
  sdnotifyContainer?: boolean
  /** --runtime-start-fifo: the runtime is crun, whose start the monitor can do itself through exec.fifo. */
  runtimeStartFifo?: boolean
  /** Run healthCommand every this many milliseconds while the container runs. */
  healthIntervalMs?: number
  healthCommand?: string[]
  /** The monitor's environment (the runtime and the exit command inherit it); default process.env. */
  env?: NodeJS.ProcessEnv
}

export interface MonitorHandle {
  monitorPid: number
  /** The container's first process. */
  pid: number
  /** Lets the monitor run `runtime start`; resolves once it has, rejects with a MonitorError. */
  start(): Promise<void>
  /**
   * Gives up before start: the monitor deletes the container, cleans up and
   * exits; resolves once it has. After a failed start it just waits for that
   * cleanup; after a successful start it does nothing (stop the container).
   */
  abort(): Promise<void>
}

/** A failure the monitor reported: `<stage>: <the runtime's or the monitor's message>`. */
export class MonitorError extends RuntimeError {
  readonly stage: MonitorStage
  /** The runtime's exit status, when a runtime call failed. */
  readonly runtimeExitCode?: number

  constructor(stage: MonitorStage, message: string, runtimeExitCode?: number) {
    const words = unwrapLogLine(message)
    super(`${stage}: ${words}`, {exitCode: classifyExitCode(stage, words)})
    this.stage = stage
    this.runtimeExitCode = runtimeExitCode
  }
}

// runc reports through logrus: time="…" level=error msg="runc create failed: …".
// Only msg is the runtime's sentence; Go quotes it like a JSON string.
function unwrapLogLine(message: string): string {
  const match = /^time="[^"]*" level=\w+ msg="((?:[^"\\]|\\.)*)"/.exec(message)
  if (!match) return message
  try {
    return JSON.parse(`"${match[1]}"`) as string
  } catch {
    return match[1]!
  }
}

// Podman's convention for `run`: a command that does not exist is 127, one
// that cannot be executed 126. Only the runtime's messages say which.
function classifyExitCode(stage: MonitorStage, message: string): number {
  if (stage !== 'create' && stage !== 'start') return EXIT_ENGINE
  if (/executable file .* not found|no such file or directory/i.test(message)) return EXIT_NOT_FOUND
  if (/permission denied/i.test(message)) return EXIT_CANNOT_INVOKE
  return EXIT_ENGINE
}

export type SyncMessage =
  | {kind: 'monitor_pid'; pid: number}
  | {kind: 'pid'; pid: number}
  | {kind: 'started'}
  | {kind: 'error'; stage: MonitorStage; message: string; exitCode?: number}

const STAGES = new Set<string>(['setup', 'mount', 'create', 'network', 'start'])

/** One line of the sync pipe; throws a RuntimeError on anything the protocol does not define. */
export function parseSyncMessage(line: string): SyncMessage {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    value = undefined
  }
  const msg = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  if (Number.isInteger(msg.monitor_pid)) return {kind: 'monitor_pid', pid: msg.monitor_pid as number}
  if (Number.isInteger(msg.pid)) return {kind: 'pid', pid: msg.pid as number}
  if (msg.started === true) return {kind: 'started'}
  if (typeof msg.error === 'string' && typeof msg.stage === 'string' && STAGES.has(msg.stage)) {
    const exitCode = Number.isInteger(msg.exit_code) ? (msg.exit_code as number) : undefined
    return {kind: 'error', stage: msg.stage as MonitorStage, message: msg.error, exitCode}
  }
  throw new RuntimeError(`tspod-monitor: unexpected sync message: ${line.slice(0, 200)}`)
}

/** The monitor's command line for opts (without --sync-fd/--start-fd). */
export function monitorArgs(opts: MonitorStartOptions): string[] {
  const args = ['--cid', opts.cid]
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(flag, String(value))
  }
  add('--name', opts.name)
  add('--runtime', opts.runtime)
  add('--runtime-root', opts.runtimeRoot)
  for (const arg of opts.runtimeArgs ?? []) add('--runtime-arg', arg)
  add('--bundle', opts.bundle)
  add('--socket-dir', opts.socketDir)
  add('--exit-file', opts.exitFile)
  add('--pid-file', opts.pidFile)
  add('--log-path', opts.logPath)
  add('--log-driver', opts.logDriver)
  add('--log-max-size', opts.logMaxSize)
  if (opts.terminal) args.push('--terminal')
  if (opts.stdin) args.push('--stdin')
  add('--mount-overlay', opts.mountOverlay)
  add('--mount-target', opts.mountTarget)
  for (const dir of opts.rmDirs ?? []) add('--rm-dir', dir)
  for (const dir of opts.removableDirs ?? []) add('--removable-dir', dir)
  if (opts.exitCommand && opts.exitCommand.length > 0) {
    const [path, ...rest] = opts.exitCommand
    add('--exit-command', path)
    for (const arg of rest) add('--exit-command-arg', arg)
  }
  add('--slirp4netns', opts.slirp4netns)
  args.push(...(opts.networkArgs ?? []))
  add('--sdnotify-socket', opts.sdnotifySocket)
  if (opts.sdnotifyContainer) args.push('--sdnotify-container')
  if (opts.runtimeStartFifo) args.push('--runtime-start-fifo')
  if (opts.healthIntervalMs && opts.healthCommand && opts.healthCommand.length > 0) {
    const [path, ...rest] = opts.healthCommand
    add('--health-interval-ms', opts.healthIntervalMs)
    add('--health-command', path)
    for (const arg of rest) add('--health-command-arg', arg)
  }
  return args
}

const SYNC_FD = 3
const START_FD = 4

/** Splits a byte stream into lines, a partial line waiting for the rest. */
function onLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    pending += chunk
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (line.trim() !== '') onLine(line)
    }
  })
}

/** The first line the helper or the monitor wrote before failing, without its "Error: " prefix. */
function firstErrorLine(stderr: string): string | undefined {
  const line = stderr
    .split('\n')
    .map(l => l.trim())
    .find(l => l !== '')
  return line?.replace(/^Error: /, '')
}

function readMonitorErr(socketDir: string): string | undefined {
  try {
    const lines = readFileSync(`${socketDir}/monitor.err`, 'utf8').trim().split('\n')
    return lines[lines.length - 1]?.replace(/^Error: /, '') || undefined
  } catch {
    return undefined
  }
}

/** The command that runs the monitor with args, through the namespace helper when one is given. */
function monitorCommand(opts: MonitorStartOptions, args: string[]): string[] {
  if (opts.nsPrefix !== undefined) return [...opts.nsPrefix, opts.monitorPath, ...args]
  if (opts.nsHelper === undefined) return [opts.monitorPath, ...args]
  if (opts.runRoot === undefined) throw new RuntimeError('startMonitor: nsHelper needs runRoot')
  const maps = opts.idMappings ? ['--uidmap', opts.idMappings.uidmap, '--gidmap', opts.idMappings.gidmap] : []
  return [opts.nsHelper, '--runroot', opts.runRoot, ...maps, '--', opts.monitorPath, ...args]
}

/**
 * Starts the monitor and resolves once the container is created (its pid
 * known), so the caller can attach before calling start(). Rejects with a
 * MonitorError for a failure the monitor reported (e.g. "create: <crun's
 * message>"), or a RuntimeError if the helper or the monitor could not run;
 * either way only after the monitor has cleaned up and exited.
 */
export async function startMonitor(opts: MonitorStartOptions): Promise<MonitorHandle> {
  const waitForStart = opts.waitForStart ?? true
  const args = [...monitorArgs(opts), '--sync-fd', String(SYNC_FD)]
  if (waitForStart) args.push('--start-fd', String(START_FD))
  const [file, ...rest] = monitorCommand(opts, args)
  // Passthrough gives the container this process's own stdio: the monitor inherits it.
  const own = opts.logDriver === 'passthrough' ? 'inherit' : 'ignore'
  const child = spawn(file!, rest, {
    stdio: [own, own, own === 'inherit' ? 'inherit' : 'pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  })
  const sync = child.stdio[SYNC_FD] as Socket
  const startPipe = child.stdio[START_FD] as Socket

  return new Promise<MonitorHandle>((resolve, reject) => {
    let stderr = ''
    let monitorPid: number | undefined
    let handle: MonitorHandle | undefined
    let startWaiter: {resolve: () => void; reject: (err: Error) => void} | undefined
    let startResult: Error | null | undefined // null: started
    let failing = false

    const exited = new Promise<number>(done => {
      child.once('exit', (code, signal) => done(code ?? 128 + (signal ? osConstants.signals[signal] : 0)))
      child.once('error', () => done(EXIT_CANNOT_INVOKE))
    })
    const stderrDone = new Promise<void>(done => {
      if (child.stderr === null) return done()
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      child.stderr.once('close', () => done())
    })
    // The monitor holds the sync pipe until it exits, or until it has started the container.
    const syncClosed = new Promise<void>(done => sync.once('close', () => done()))

    // Once the outcome is known only the sync pipe matters: the monitor closes
    // it right after {"started"}, or when it exits after a failure.
    const release = () => {
      startPipe.destroy()
      child.stderr?.destroy()
      child.unref()
    }

    const settleStart = (result: Error | null) => {
      if (startResult !== undefined) return
      startResult = result
      release()
      if (result === null) startWaiter?.resolve()
      else startWaiter?.reject(result)
    }

    const fail = (err: Error) => {
      if (handle !== undefined) return settleStart(err)
      if (failing) return
      failing = true
      release()
      void syncClosed.then(() => reject(err))
    }

    // Without any message the reason is on the helper's stderr, or in monitor.err.
    const failSilently = async () => {
      const [code] = await Promise.all([exited, stderrDone])
      const line = firstErrorLine(stderr) ?? readMonitorErr(opts.socketDir)
      const who = monitorPid === undefined ? 'tspod-monitor' : `tspod-monitor ${monitorPid}`
      if (handle !== undefined) fail(new RuntimeError(line ?? `start: ${who} exited before starting the container`))
      else fail(new RuntimeError(line ?? `${who} exited with status ${code} before creating the container`))
    }

    child.once('error', err => {
      sync.destroy()
      fail(new RuntimeError(`run ${file}: ${err.message}`, {cause: err}))
    })
    void syncClosed.then(() => {
      if (startResult === undefined && !failing) void failSilently()
    })
    onLines(sync, line => {
      let msg: SyncMessage
      try {
        msg = parseSyncMessage(line)
      } catch (err) {
        fail(err as Error)
        return
      }
      switch (msg.kind) {
        case 'monitor_pid':
          monitorPid = msg.pid
          break
        case 'pid':
          handle = makeHandle(msg.pid)
          resolve(handle)
          break
        case 'started':
          settleStart(null)
          break
        case 'error':
          fail(new MonitorError(msg.stage, msg.message, msg.exitCode))
          break
      }
    })

    const makeHandle = (pid: number): MonitorHandle => {
      let started: Promise<void> | undefined
      return {
        monitorPid: monitorPid ?? 0,
        pid,
        start() {
          started ??= new Promise<void>((resolveStart, rejectStart) => {
            if (startResult === null) return resolveStart()
            if (startResult !== undefined) return rejectStart(startResult)
            startWaiter = {resolve: resolveStart, reject: rejectStart}
            if (waitForStart) startPipe.write(Buffer.from([1]))
          })
          return started
        },
        async abort() {
          // EOF on the start pipe before its byte is the monitor's cue to delete the container.
          if (startResult === undefined) settleStart(new RuntimeError(`start: aborted; container ${opts.cid} was deleted`))
          await syncClosed
        },
      }
    }
  })
}

/** Frame types on the attach socket (docs/monitor-protocol.md, "Attach frames"). */
export const FrameType = {
  stdout: 1,
  stderr: 2,
  exit: 3,
  stdin: 0,
  stdinEof: 1,
  resize: 2,
  signal: 3,
  flowControl: 4,
  remove: 5,
} as const

const HEADER = 5
// The monitor sends at most a read's worth (8 KiB); anything near this is a broken stream.
const FRAME_MAX = 16 * 1024 * 1024

export function encodeFrame(type: number, data: Buffer | string = ''): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data
  const frame = Buffer.allocUnsafe(HEADER + body.length)
  frame.writeUInt8(type, 0)
  frame.writeUInt32BE(body.length, 1)
  body.copy(frame, HEADER)
  return frame
}

/** Reassembles frames from arbitrary chunks of the stream. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0)

  constructor(private readonly onFrame: (type: number, data: Buffer) => void) {}

  /** Throws a RuntimeError on a frame no monitor sends. */
  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    while (this.pending.length >= HEADER) {
      const length = this.pending.readUInt32BE(1)
      if (length > FRAME_MAX) throw new RuntimeError(`attach: frame of ${length} bytes: not a tspod-monitor stream`)
      if (this.pending.length < HEADER + length) return
      const type = this.pending.readUInt8(0)
      const data = this.pending.subarray(HEADER, HEADER + length)
      this.pending = this.pending.subarray(HEADER + length)
      this.onFrame(type, data)
    }
  }
}

export interface AttachOptions {
  /** Sent to the container's stdin (needs --stdin); its end becomes a stdin-EOF frame. */
  stdin?: Readable
  stdout: Writable
  /** With a terminal all output is stdout. */
  stderr: Writable
  /** The container's exit code, as soon as it is known (cleanup may still be running). */
  onExit?: (exitCode: number) => void
  /** The connection, for resize() and for detaching (destroy it). */
  onConnect?: (connection: Socket) => void
  /**
   * When this client falls behind (stdout piped into something slow), make
   * the container wait instead of disconnecting the client, as `run` wants.
   */
  flowControl?: boolean
}

export interface AttachResult {
  /** undefined when no exit frame came: the monitor died, or the caller detached. */
  exitCode: number | undefined
}

/**
 * Attaches to a container's monitor and relays until the monitor closes the
 * connection, which it does once cleanup after the container's exit is done;
 * resolves when stdout and stderr have taken everything relayed.
 * The unix socket connects at once, so start() right after attach() loses no
 * output: the monitor accepts clients before it reads any.
 */
export function attach(socketPath: string, opts: AttachOptions): Promise<AttachResult> {
  return new Promise((resolve, reject) => {
    const conn = connect(socketPath)
    let exitCode: number | undefined
    let connected = false
    let blockedWriters = 0
    const stdin = opts.stdin

    const writeOut = (target: Writable, data: Buffer) => {
      if (target.write(data)) return
      // Stop reading the socket until the slow side drains: the monitor then holds or drops us.
      blockedWriters++
      conn.pause()
      target.once('drain', () => {
        if (--blockedWriters === 0) conn.resume()
      })
    }

    const decoder = new FrameDecoder((type, data) => {
      if (type === FrameType.stdout) writeOut(opts.stdout, data)
      else if (type === FrameType.stderr) writeOut(opts.stderr, data)
      else if (type === FrameType.exit) {
        exitCode = Number(data.toString('ascii'))
        opts.onExit?.(exitCode)
      }
    })

    const onStdinData = (chunk: Buffer | string) => {
      if (!conn.write(encodeFrame(FrameType.stdin, typeof chunk === 'string' ? Buffer.from(chunk) : chunk))) {
        stdin?.pause()
        conn.once('drain', () => stdin?.resume())
      }
    }
    const onStdinEnd = () => {
      if (!conn.destroyed) conn.write(encodeFrame(FrameType.stdinEof))
    }
    const stopStdin = () => {
      if (!stdin) return
      stdin.off('data', onStdinData)
      stdin.off('end', onStdinEnd)
      stdin.pause()
    }

    if (opts.flowControl) conn.write(encodeFrame(FrameType.flowControl))
    conn.once('connect', () => {
      connected = true
      opts.onConnect?.(conn)
      if (stdin) {
        stdin.on('data', onStdinData)
        stdin.once('end', onStdinEnd)
        stdin.resume()
      }
    })
    conn.on('data', chunk => {
      try {
        decoder.push(chunk)
      } catch (err) {
        conn.destroy(err as Error)
      }
    })
    conn.on('error', err => {
      if (!connected) reject(new RuntimeError(`attach ${socketPath}: ${err.message}`, {cause: err}))
    })
    conn.once('close', () => {
      stopStdin()
      // A CLI exits right after this: what it relayed must have left its buffers first.
      if (connected) void Promise.all([flushed(opts.stdout), flushed(opts.stderr)]).then(() => resolve({exitCode}))
    })
  })
}

/** Resolves once everything written to stream so far has been handed on (writes complete in order). */
function flushed(stream: Writable): Promise<void> {
  if (stream.writableEnded || stream.destroyed) return Promise.resolve()
  return new Promise(resolve => stream.write(Buffer.alloc(0), () => resolve()))
}

/** Writes one control frame: on a given connection, or on a new one that is closed once the monitor has read it. */
function sendControl(target: string | Socket, frame: Buffer, what: string): Promise<void> {
  if (typeof target !== 'string') {
    return new Promise((resolve, reject) =>
      target.write(frame, err => (err ? reject(new RuntimeError(`${what}: ${err.message}`, {cause: err})) : resolve())),
    )
  }
  return new Promise((resolve, reject) => {
    const conn = connect(target)
    conn.on('error', err => reject(new RuntimeError(`${what}: attach ${target}: ${err.message}`, {cause: err})))
    // Output frames for this connection are not ours to show; reading them lets the close arrive.
    conn.resume()
    conn.end(frame)
    // The monitor closes a client once it has read its end, so close means the frame was handled.
    conn.once('close', hadError => {
      if (!hadError) resolve()
    })
  })
}

/** Sends signal (a number) to the container's first process through its monitor. */
export function sendSignal(socketPath: string, signal: number): Promise<void> {
  return sendControl(socketPath, encodeFrame(FrameType.signal, String(signal)), `signal ${signal}`)
}

/**
 * Asks the monitor to remove its removable dirs after its cleanup, then
 * sends `signal`: `rm -f` of a running container returns without waiting for
 * the runtime's delete and the unmount.
 */
export function removeAndSignal(socketPath: string, signal: number): Promise<void> {
  return sendControl(socketPath, Buffer.concat([encodeFrame(FrameType.remove), encodeFrame(FrameType.signal, String(signal))]), `remove and signal ${signal}`)
}

/** Sets the terminal size of a -t container. */
export function resize(target: string | Socket, rows: number, cols: number): Promise<void> {
  return sendControl(target, encodeFrame(FrameType.resize, `${rows} ${cols}`), `resize ${rows}x${cols}`)
}

export interface ExitFileReport {
  exitCode: number
  finishedAt: Date
}

/** The monitor's exit file: undefined while the container has not exited (no file yet). */
export function readExitFile(path: string): ExitFileReport | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined
    throw new RuntimeError(`read exit file ${path}: ${(err as Error).message}`, {cause: err})
  }
  const match = /^(\d+) (\d+)\n?$/.exec(text)
  if (!match) throw new RuntimeError(`read exit file ${path}: expected "CODE NANOSECONDS", found ${JSON.stringify(text.slice(0, 60))}`)
  return {exitCode: Number(match[1]), finishedAt: new Date(Number(BigInt(match[2]) / 1_000_000n))}
}
