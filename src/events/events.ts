/**
 * The per-user event log that `tspod events` reads: one JSON object a line in
 * `<runroot>/events/events.log`, as Podman's file event backend keeps one
 * under its tmp dir (the runroot is on tmpfs: events last until reboot).
 *
 * Every writer appends a whole line with a single write() on a file opened
 * with O_APPEND, so concurrent commands never interleave or overwrite each
 * other's lines; a reader ignores a last line without its newline (a writer
 * killed in the middle of it). The C monitor appends `died` the same way.
 * Writing an event must never fail a command: errors are swallowed.
 */
import {closeSync, constants, mkdirSync, openSync, writeSync} from 'node:fs'
import {join} from 'node:path'

export type EventType = 'container' | 'image' | 'volume' | 'secret' | 'network' | 'pod' | 'system'

/** Podman's `events --format json` shape. */
export interface TspodEvent {
  ID?: string
  Image?: string
  Name?: string
  Status: string
  Time: string
  /** Nanoseconds since the epoch, for ordering and --since/--until. */
  timeNano: number
  Type: EventType
  Attributes?: Record<string, string>
  ContainerExitCode?: number
}

export function eventLogPath(runRoot: string): string {
  return join(runRoot, 'events', 'events.log')
}

/** At most this long a line is written in one piece (Linux appends any size atomically to a local file, but keep lines small). */
const MAX_LINE = 64 * 1024

export function appendEvent(runRoot: string, event: Omit<TspodEvent, 'Time' | 'timeNano'> & {time?: Date}): void {
  const when = event.time ?? new Date()
  const {time: _time, ...rest} = event
  const line = JSON.stringify({...rest, Time: when.toISOString(), timeNano: when.getTime() * 1_000_000}) + '\n'
  if (line.length > MAX_LINE) return
  const path = eventLogPath(runRoot)
  try {
    let fd: number
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600)
    } catch {
      mkdirSync(join(runRoot, 'events'), {recursive: true, mode: 0o700})
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600)
    }
    try {
      writeSync(fd, line)
    } finally {
      closeSync(fd)
    }
  } catch {
    // The event log is a convenience: a full disk or a read-only runroot must not fail the command.
  }
}

/** Complete lines of the log from byte `offset`; returns the events and the offset after the last complete line. */
export function parseEventLines(text: string, offset = 0): {events: TspodEvent[]; consumed: number} {
  const events: TspodEvent[] = []
  let start = 0
  for (;;) {
    const end = text.indexOf('\n', start)
    if (end === -1) break
    const line = text.slice(start, end)
    start = end + 1
    if (line.trim() === '') continue
    try {
      events.push(JSON.parse(line) as TspodEvent)
    } catch {
      // A line a crashed writer left half-done is skipped, not fatal.
    }
  }
  return {events, consumed: offset + Buffer.byteLength(text.slice(0, start))}
}

/** `--filter key=value` as podman-events(1) documents; several values of one key match any, different keys all. */
export function eventMatches(event: TspodEvent, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    const ok = values.some(value => {
      switch (key) {
        case 'container':
          return event.Type === 'container' && (event.Name === value || (event.ID ?? '').startsWith(value))
        case 'image':
          return event.Image === value || (event.Type === 'image' && (event.Name === value || (event.ID ?? '').startsWith(value))) || (event.Image ?? '').endsWith(`/${value}`) || (event.Image ?? '').endsWith(`/${value}:latest`)
        case 'event':
          return event.Status === value
        case 'type':
          return event.Type === value
        case 'volume':
          return event.Type === 'volume' && event.Name === value
        case 'secret':
          return event.Type === 'secret' && (event.Name === value || (event.ID ?? '').startsWith(value))
        case 'network':
          return event.Type === 'network' && (event.Name === value || (event.ID ?? '').startsWith(value))
        case 'pod':
          return event.Type === 'pod' && (event.Name === value || (event.ID ?? '').startsWith(value))
        case 'label': {
          const [k, v] = value.split(/=(.*)/s)
          const attrs = event.Attributes ?? {}
          return k in attrs && (v === undefined || attrs[k] === v)
        }
        default:
          return false
      }
    })
    if (!ok) return false
  }
  return true
}

export const EVENT_FILTER_KEYS = ['container', 'event', 'image', 'label', 'network', 'pod', 'secret', 'type', 'volume']

/**
 * A --since/--until value: RFC 3339 (or a date), a Unix timestamp with optional
 * fraction, or a Go duration (`10m`, `1h30m`) meaning that long before now.
 * Returns nanoseconds since the epoch, or undefined when it is none of those.
 */
export function parseEventTime(value: string, now = Date.now()): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) {
    const [s, frac = ''] = value.split('.')
    return Number(s) * 1e9 + Number((frac + '000000000').slice(0, 9))
  }
  const duration = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(value) ? value : undefined
  if (duration) {
    const units: Record<string, number> = {ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}
    let ms = 0
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]]
    return (now - ms) * 1e6
  }
  const parsed = Date.parse(value)
  return Number.isNaN(parsed) ? undefined : parsed * 1e6
}

/** A container's event, with its labels as attributes as Podman gives them. */
export function appendContainerEvent(runRoot: string, record: {id: string; name: string; imageName: string; labels?: Record<string, string>}, status: string, extra: Record<string, string> = {}): void {
  appendEvent(runRoot, {ID: record.id, Image: record.imageName, Name: record.name, Status: status, Type: 'container', Attributes: {...record.labels, ...extra}})
}
