/**
 * Rendering pull and push progress: Podman's plain lines on stderr when it is
 * not a terminal, one ora spinner per blob with bytes and rate when it is,
 * nothing with -q. Also the parsing of the flags pull and push share.
 */
import type {CommandContext} from './context.js'
import {flagString} from './context.js'
import {InvalidArgumentError} from '../errors/index.js'
import type {RegistryAccessOptions} from '../registry/session.js'
import type {TransferEvent, TransferListener} from '../registry/progress.js'
import {importEsm} from '../util/import-esm.js'

export interface ProgressRenderer {
  listener?: TransferListener
  /** Stop spinners before anything else is printed. */
  stop(): void
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12)
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)}${units[i]}`
}

/**
 * `--progress`: auto (spinners on a terminal, else plain lines), plain, or
 * json (one event per line on stderr, for tools).
 */
export async function createProgressRenderer(ctx: CommandContext, quiet: boolean): Promise<ProgressRenderer> {
  if (quiet) return {stop() {}}
  const out = ctx.stderr
  const mode = flagString(ctx, 'progress') ?? 'auto'
  if (mode === 'json') {
    return {
      listener: (event: TransferEvent) => {
        out.write(JSON.stringify({...event, time: new Date().toISOString()}) + '\n')
      },
      stop() {},
    }
  }
  // ora needs the terminal's width: with none (a pty of size 0) it redraws forever.
  if (mode === 'plain' || !out.isTTY || !(out.columns > 0)) {
    return {
      listener: (event: TransferEvent) => {
        const line = plainLine(event)
        if (line) out.write(line + '\n')
      },
      stop() {},
    }
  }
  // One spinner whose text holds a line per blob: ora draws a single spinner at a time.
  const {default: ora} = await importEsm<typeof import('ora')>('ora')
  const spinner = ora({stream: out, discardStdin: false, text: ''})
  const blobs = new Map<string, {label: string; started: number; status: string}>()
  const finished: string[] = []
  const redraw = (): void => {
    spinner.text = [...blobs.values()].map(b => `${b.label} ${b.status}`.trimEnd()).join('\n')
  }
  const persist = (line: string): void => {
    const running = spinner.isSpinning
    if (running) spinner.clear()
    out.write(line + '\n')
    if (running) spinner.render()
  }
  return {
    listener: (event: TransferEvent) => {
      switch (event.type) {
        case 'blob-start':
          blobs.set(event.digest, {label: `Copying ${event.what} ${short(event.digest)}`, started: Date.now(), status: ''})
          if (!spinner.isSpinning) spinner.start()
          redraw()
          break
        case 'blob-bytes': {
          const b = blobs.get(event.digest)
          if (!b) break
          const seconds = Math.max((Date.now() - b.started) / 1000, 0.001)
          const total = event.size ? ` / ${humanBytes(event.size)}` : ''
          b.status = `${humanBytes(event.bytes)}${total} (${humanBytes(event.bytes / seconds)}/s)`
          redraw()
          break
        }
        case 'blob-done': {
          const b = blobs.get(event.digest)
          blobs.delete(event.digest)
          finished.push(`${b?.label ?? `Copying ${event.what} ${short(event.digest)}`} done`)
          redraw()
          if (blobs.size === 0) spinner.stop()
          persist(finished[finished.length - 1]!)
          break
        }
        case 'blob-skip':
          persist(`Copying ${event.what} ${short(event.digest)} skipped: ${event.reason === 'mounted' ? 'mounted from another repository' : 'already exists'}`)
          break
        default: {
          const line = plainLine(event)
          if (line) persist(line)
        }
      }
    },
    stop() {
      if (spinner.isSpinning) spinner.stop()
    },
  }
}

function plainLine(event: TransferEvent): string | undefined {
  switch (event.type) {
    case 'trying':
      return `Trying to pull ${event.reference}...`
    case 'signatures':
      return 'Getting image source signatures'
    case 'blob-start':
      return `Copying ${event.what} ${event.digest}`
    case 'blob-skip':
      return `Copying ${event.what} ${event.digest} skipped: ${event.reason === 'mounted' ? 'mounted from another repository' : 'already exists'}`
    case 'manifest':
      return 'Writing manifest to image destination'
    default:
      return undefined
  }
}

/** Go-style durations as Podman takes them: 500ms, 2s, 1m30s; a bare number is seconds. */
export function parseDuration(value: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const units: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}
  let total = 0
  let rest = value
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest)
    if (!m) throw new InvalidArgumentError(`${flag}: invalid duration ${JSON.stringify(value)}`, {hint: 'Use a duration such as 500ms, 2s or 1m'})
    total += Number(m[1]) * units[m[2]!]!
    rest = rest.slice(m[0].length)
  }
  return total
}

/** The registry flags pull, push and login share. */
export function registryAccessOptions(ctx: CommandContext): RegistryAccessOptions {
  const tls = ctx.flags['tls-verify']
  const retry = flagString(ctx, 'retry')
  if (retry !== undefined && !/^\d+$/.test(retry)) throw new InvalidArgumentError(`--retry: invalid number ${JSON.stringify(retry)}`)
  const delay = flagString(ctx, 'retry-delay')
  return {
    tlsVerify: typeof tls === 'boolean' ? tls : undefined,
    certDir: flagString(ctx, 'cert-dir'),
    creds: flagString(ctx, 'creds'),
    authfile: flagString(ctx, 'authfile'),
    retry: retry === undefined ? undefined : Number(retry),
    retryDelayMs: delay === undefined ? undefined : parseDuration(delay, '--retry-delay'),
  }
}
