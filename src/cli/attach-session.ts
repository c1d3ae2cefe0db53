/**
 * The terminal side of an attached container (run without -d, start -a,
 * attach): raw mode and resize for -t, the detach keys (ctrl-p ctrl-q by
 * default), and forwarding of signals to the container (--sig-proxy).
 */
import type {Socket} from 'node:net'
import {Transform, type TransformCallback} from 'node:stream'
import {InvalidArgumentError} from '../errors/index.js'
import {resize, sendSignal, type AttachOptions} from '../runtime/monitor-client.js'

/** `ctrl-p,ctrl-q` → [0x10, 0x11]; `ctrl-a` → [0x01]; a single letter as itself; '' disables. */
export function parseDetachKeys(spec: string): number[] {
  if (spec === '') return []
  return spec.split(',').map(key => {
    const k = key.trim()
    const ctrl = /^ctrl-(.)$/.exec(k)
    if (ctrl) {
      const c = ctrl[1]
      if (/[a-z]/.test(c)) return c.charCodeAt(0) - 96
      const special: Record<string, number> = {'@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, '_': 31}
      if (c in special) return special[c]
    } else if (/^[a-zA-Z]$/.test(k)) {
      return k.charCodeAt(0)
    }
    throw new InvalidArgumentError(`invalid detach keys "${spec}": use a letter or ctrl-<a-z, @, ^, [, \\, ], _>, comma separated`)
  })
}

/** Passes stdin through, and calls onDetach when the detach sequence is typed. */
class DetachKeyFilter extends Transform {
  private matched = 0

  constructor(private readonly keys: number[], private readonly onDetach: () => void) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.keys.length === 0) return cb(null, chunk)
    const out: number[] = []
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++
        if (this.matched === this.keys.length) {
          this.matched = 0
          if (out.length > 0) this.push(Buffer.from(out))
          this.onDetach()
          return cb()
        }
        continue
      }
      // A partial match that broke off: those keys were meant for the container.
      if (this.matched > 0) out.push(...this.keys.slice(0, this.matched))
      this.matched = 0
      out.push(byte)
    }
    cb(null, out.length > 0 ? Buffer.from(out) : undefined)
  }
}

export interface SessionOptions {
  socketPath: string
  tty: boolean
  stdin: boolean
  detachKeys: string
  sigProxy: boolean
}

export interface Session {
  attach: AttachOptions
  /** Undo raw mode and listeners, and drop the connection to the monitor. */
  close(): void
  /** Resolves with the container's exit code as soon as the monitor reports it (before its cleanup). */
  exited: Promise<number>
  /** True when the user detached with the detach keys. */
  detached(): boolean
}

export function openSession(options: SessionOptions): Session {
  let connection: Socket | undefined
  let didDetach = false
  const cleanups: Array<() => void> = []
  const keys = parseDetachKeys(options.detachKeys)
  let stdin: NodeJS.ReadableStream | undefined
  if (options.stdin) {
    const filter = new DetachKeyFilter(keys, () => {
      didDetach = true
      connection?.destroy()
    })
    stdin = process.stdin.pipe(filter)
    if (options.tty && process.stdin.isTTY) {
      process.stdin.setRawMode(true)
      cleanups.push(() => process.stdin.setRawMode(false))
    }
    cleanups.push(() => {
      process.stdin.unpipe(filter)
      process.stdin.pause()
    })
  }
  if (options.tty && process.stdout.isTTY) {
    const onResize = () => {
      if (connection) resize(connection, process.stdout.rows, process.stdout.columns).catch(() => {})
    }
    process.stdout.on('resize', onResize)
    cleanups.push(() => process.stdout.off('resize', onResize))
  }
  if (options.sigProxy && !options.tty) {
    // With a terminal, ^C reaches the container through it; without, forward.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
      const handler = () => {
        sendSignal(options.socketPath, osSignal(sig)).catch(() => {})
      }
      process.on(sig, handler)
      cleanups.push(() => process.off(sig, handler))
    }
  }
  let onExit: (code: number) => void = () => {}
  const exited = new Promise<number>(resolve => (onExit = resolve))
  return {
    exited,
    attach: {
      onExit: code => onExit(code),
      stdin: stdin as never,
      stdout: process.stdout,
      stderr: options.tty ? process.stdout : process.stderr,
      flowControl: true,
      onConnect: conn => {
        connection = conn
        if (options.tty && process.stdout.isTTY) resize(conn, process.stdout.rows, process.stdout.columns).catch(() => {})
      },
    },
    close: () => {
      for (const c of cleanups) c()
      connection?.destroy()
    },
    detached: () => didDetach,
  }
}

function osSignal(name: string): number {
  const table: Record<string, number> = {SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15}
  return table[name]
}
