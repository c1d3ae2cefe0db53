import {readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {containerPaths, currentState, isActive, type ContainerRecord} from '../../container/container-store.js'
import {InvalidArgumentError, TspodError} from '../../errors/index.js'
import {latestPod, lookupPod, podContainers} from '../../pod/pod-store.js'
import {logWindow, parseLogLine} from './container-logs.js'

interface Entry {
  time: string
  prefix: string
  stream: 'stdout' | 'stderr'
  text: string
  full: boolean
}

/** The complete lines of a container's log from byte `from` on, and where they end. */
function readFrom(path: string, from: number): {lines: string[]; end: number} {
  let buf: Buffer
  try {
    buf = readFileSync(path)
  } catch {
    return {lines: [], end: from}
  }
  if (buf.length < from) from = 0 // rotated
  const last = buf.lastIndexOf(0x0a)
  if (last < from) return {lines: [], end: from}
  return {lines: buf.subarray(from, last).toString('utf8').split('\n'), end: last + 1}
}

/**
 * `pod logs`: the logs of the pod's containers (not the infra's), merged by
 * time, each line prefixed with its container's short ID, or name with
 * --names, as podman-pod-logs(1) does.
 */
export default async function podLogs(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const {store} = engine
  const latest = flagBool(ctx, 'latest')
  if (!latest && ctx.args[0] === undefined) throw new InvalidArgumentError('you must provide the name or ID of a pod, or use --latest', {hint: `See '${ctx.commandLine} --help'`})
  const pod = latest ? latestPod(store) : lookupPod(store, ctx.args[0])
  let members = podContainers(store, pod.id).filter(r => !r.infra)
  const only = flagString(ctx, 'container')
  if (only !== undefined) {
    members = members.filter(r => r.name === only || r.id.startsWith(only))
    if (members.length === 0) throw new TspodError(`container ${only} is not in pod ${pod.name}`, {hint: `List the pod's containers: tspod ps -a --pod --filter pod=${pod.name}`})
  }
  const {sinceMs, untilMs, tail} = logWindow(ctx)
  const names = flagBool(ctx, 'names')
  const timestamps = flagBool(ctx, 'timestamps')
  const prefixOf = (r: ContainerRecord) => (names ? r.name : r.id.slice(0, 12))
  const emit = (entries: Entry[]) => {
    entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    for (const e of entries) {
      const t = Date.parse(e.time)
      if (sinceMs !== undefined && t < sinceMs) continue
      if (untilMs !== undefined && t > untilMs) continue
      const out = e.stream === 'stderr' ? ctx.stderr : ctx.stdout
      out.write(`${e.prefix} ${timestamps ? `${e.time} ` : ''}${e.text}${e.full ? '\n' : ''}`)
    }
  }
  const parse = (record: ContainerRecord, lines: string[]): Entry[] =>
    lines.map(parseLogLine).filter(l => l !== undefined).map(l => ({...l, prefix: prefixOf(record)}))
  const ends = new Map<string, number>()
  const first: Entry[] = []
  for (const record of members) {
    if (record.logDriver !== 'k8s-file') continue
    const path = containerPaths(store, record.id).log
    const rotated = readFrom(`${path}.1`, 0)
    const current = readFrom(path, 0)
    ends.set(record.id, current.end)
    const entries = parse(record, [...rotated.lines, ...current.lines])
    first.push(...(tail === undefined ? entries : tail === 0 ? [] : entries.slice(-tail)))
  }
  emit(first)
  if (!flagBool(ctx, 'follow')) return 0
  for (;;) {
    const active = members.filter(r => isActive(currentState(store, r.id)))
    const more: Entry[] = []
    for (const record of members) {
      if (!ends.has(record.id)) continue
      const next = readFrom(containerPaths(store, record.id).log, ends.get(record.id)!)
      ends.set(record.id, next.end)
      more.push(...parse(record, next.lines))
    }
    emit(more)
    if (active.length === 0) return 0
    await sleep(100)
  }
}
