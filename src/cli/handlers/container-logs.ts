import {createReadStream, existsSync, statSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {containerPaths, currentState, isActive, readRecord} from '../../container/container-store.js'
import {InvalidArgumentError} from '../../errors/index.js'

interface LogLine {
  time: string
  stream: 'stdout' | 'stderr'
  full: boolean
  text: string
}

/** k8s-file lines: `TIMESTAMP STREAM F|P MESSAGE`. */
export function parseLogLine(line: string): LogLine | undefined {
  const a = line.indexOf(' ')
  const b = line.indexOf(' ', a + 1)
  const c = line.indexOf(' ', b + 1)
  if (a < 0 || b < 0) return undefined
  const stream = line.slice(a + 1, b)
  if (stream !== 'stdout' && stream !== 'stderr') return undefined
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c)
  return {time: line.slice(0, a), stream, full: tag !== 'P', text: c < 0 ? '' : line.slice(c + 1)}
}

/** `--since 10m`, `--since 2026-11-22T10:00:00Z`, or a Unix timestamp. */
export function parseTime(value: string, now = Date.now()): number {
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value)
  if (d) return now - Number(d[1]) * {ms: 1, s: 1000, m: 60_000, h: 3_600_000}[d[2] as 'ms']
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid time "${value}": use a duration (10m, 1h), an RFC 3339 time or a Unix timestamp`)
  return t
}

function readLines(path: string, from: number): Promise<{lines: string[]; end: number}> {
  return new Promise((resolve, reject) => {
    if (!existsSync(path)) return resolve({lines: [], end: from})
    const size = statSync(path).size
    if (size <= from) return resolve({lines: [], end: from})
    const chunks: Buffer[] = []
    createReadStream(path, {start: from, end: size - 1})
      .on('data', c => chunks.push(c as Buffer))
      .on('error', reject)
      .on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const last = text.lastIndexOf('\n')
        resolve({lines: last < 0 ? [] : text.slice(0, last).split('\n'), end: from + Buffer.byteLength(text.slice(0, last + 1))})
      })
  })
}

/** --since, --until and --tail of `logs` and `pod logs`. */
export function logWindow(ctx: CommandContext): {sinceMs?: number; untilMs?: number; tail?: number} {
  const since = flagString(ctx, 'since')
  const until = flagString(ctx, 'until')
  const tailText = flagString(ctx, 'tail')
  const tail = tailText === undefined || tailText === '-1' ? undefined : Number(tailText)
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new InvalidArgumentError(`invalid --tail "${tailText}": a whole number of lines`)
  return {sinceMs: since ? parseTime(since) : undefined, untilMs: until ? parseTime(until) : undefined, tail}
}

export default async function containerLogs(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const targets = resolveTargets(ctx, engine)
  const {sinceMs, untilMs, tail} = logWindow(ctx)
  const timestamps = flagBool(ctx, 'timestamps')
  const withNames = flagBool(ctx, 'names') || targets.length > 1
  let code = 0
  const emit = (line: LogLine, name: string) => {
    const t = Date.parse(line.time)
    if (sinceMs !== undefined && t < sinceMs) return
    if (untilMs !== undefined && t > untilMs) return
    const out = line.stream === 'stderr' ? ctx.stderr : ctx.stdout
    out.write(`${withNames ? `${name} ` : ''}${timestamps ? `${line.time} ` : ''}${line.text}${line.full ? '\n' : ''}`)
  }
  const follow = flagBool(ctx, 'follow')
  await Promise.all(targets.map(async target => {
    if (target.error || !target.id) {
      ctx.stderr.write(`Error: ${target.error?.message}\n`)
      code = 125
      return
    }
    const record = readRecord(engine.store, target.id)
    if (record.logDriver !== 'k8s-file') {
      ctx.stderr.write(`Error: container ${record.name} uses the ${record.logDriver} log driver: no logs are kept\n`)
      code = 125
      return
    }
    const path = containerPaths(engine.store, target.id).log
    const rotated = `${path}.1`
    let {lines, end} = await readLines(rotated, 0)
    const current = await readLines(path, 0)
    lines = [...lines, ...current.lines]
    end = current.end
    const parsed = lines.map(parseLogLine).filter((l): l is LogLine => l !== undefined)
    const shown = tail === undefined ? parsed : tail === 0 ? [] : parsed.slice(-tail)
    for (const l of shown) emit(l, record.name)
    if (!follow) return
    for (;;) {
      const state = currentState(engine.store, target.id)
      const more = await readLines(path, statSize(path) < end ? 0 : end)
      end = more.end
      for (const l of more.lines.map(parseLogLine)) if (l) emit(l, record.name)
      if (!isActive(state)) break
      await sleep(100)
    }
  }))
  return code
}

function statSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}
