import {closeSync, openSync, readSync, statSync} from 'node:fs'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {compileTemplate} from '../../util/go-template.js'
import {InvalidArgumentError, isErrno} from '../../errors/index.js'
import {EVENT_FILTER_KEYS, eventLogPath, eventMatches, parseEventLines, parseEventTime, type TspodEvent} from '../../events/events.js'
import {engineFor} from '../engine.js'

const POLL_MS = 100

function parseFilters(list: string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>()
  for (const f of list) {
    const i = f.indexOf('=')
    const key = i === -1 ? f : f.slice(0, i)
    if (i <= 0 || !EVENT_FILTER_KEYS.includes(key)) {
      throw new InvalidArgumentError(`invalid filter "${f}"`, {hint: `Use KEY=VALUE with KEY one of ${EVENT_FILTER_KEYS.join(', ')}`})
    }
    filters.set(key, [...(filters.get(key) ?? []), f.slice(i + 1)])
  }
  return filters
}

function timeFlag(ctx: CommandContext, name: string): number | undefined {
  const value = flagString(ctx, name)
  if (value === undefined) return undefined
  const t = parseEventTime(value)
  if (t === undefined) throw new InvalidArgumentError(`--${name} "${value}": not a timestamp or a duration`, {hint: 'Use RFC 3339 (2026-01-02T15:04:05Z), Unix seconds, or a duration such as 10m'})
  return t
}

/** Podman's text line: `2026-11-22 14:05:14.769000000 +0000 UTC container start ID (image=…, name=…)`. */
function textLine(e: TspodEvent): string {
  const d = new Date(e.Time)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const nanos = String(d.getUTCMilliseconds() * 1_000_000).padStart(9, '0')
  const when = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${nanos} +0000 UTC`
  if (e.Type === 'container' || e.Type === 'pod') {
    const attrs = [e.Image ? `image=${e.Image}` : '', e.Name ? `name=${e.Name}` : '', ...Object.entries(e.Attributes ?? {}).map(([k, v]) => `${k}=${v}`)].filter(Boolean)
    return `${when} ${e.Type} ${e.Status} ${e.ID ?? ''} (${attrs.join(', ')})`
  }
  return `${when} ${e.Type} ${e.Status} ${[e.ID, e.Name].filter(Boolean).join(' ')}`
}

function publicShape(e: TspodEvent): Omit<TspodEvent, 'timeNano'> {
  const {timeNano: _t, ...rest} = e
  return rest
}

/** podman-events(1): the existing events, then (unless --stream=false) new ones as they are appended. */
export default async function systemEvents(ctx: CommandContext): Promise<void> {
  const filters = parseFilters(flagList(ctx, 'filter'))
  const since = timeFlag(ctx, 'since')
  const until = timeFlag(ctx, 'until')
  const format = flagString(ctx, 'format')
  const template = format && format !== 'json' ? compileTemplate(format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')) : undefined
  // oclif's manifest drops boolean defaults: absent means the default, true.
  const stream = ctx.flags.stream !== false && (until === undefined || until > Date.now() * 1e6)
  const path = eventLogPath((await engineFor(ctx)).store.runRoot)

  const print = (e: TspodEvent) => {
    if (since !== undefined && e.timeNano < since) return
    if (until !== undefined && e.timeNano > until) return
    if (!eventMatches(e, filters)) return
    if (format === 'json') ctx.stdout.write(JSON.stringify(publicShape(e)) + '\n')
    else if (template) ctx.stdout.write(template.execute({...publicShape(e), Status: e.Status, Type: e.Type}) + '\n')
    else ctx.stdout.write(textLine(e) + '\n')
  }

  let offset = 0
  const readNew = (): void => {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return
      throw err
    }
    try {
      const size = statSync(path).size
      if (size < offset) offset = 0
      if (size === offset) return
      const buf = Buffer.alloc(size - offset)
      const n = readSync(fd, buf, 0, buf.length, offset)
      const {events, consumed} = parseEventLines(buf.subarray(0, n).toString('utf8'), offset)
      offset = consumed
      for (const e of events) print(e)
    } finally {
      closeSync(fd)
    }
  }

  readNew()
  if (!stream) return
  await new Promise<void>(resolve => {
    const timer = setInterval(() => {
      readNew()
      if (until !== undefined && Date.now() * 1e6 > until) finish()
    }, POLL_MS)
    const finish = () => {
      clearInterval(timer)
      resolve()
    }
    process.once('SIGINT', finish)
    process.once('SIGTERM', finish)
    ctx.stdout.once('error', finish)
  })
}
