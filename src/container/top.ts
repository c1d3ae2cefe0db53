/**
 * `tspod top`: the processes of a running container, ps-style, as Podman's
 * psgo prints them, read from outside the container through /proc.
 *
 * The container's processes are those in its init's PID namespace. The user
 * who owns tspod's user namespace holds every capability in it, so the
 * `ns/pid` links of its processes are readable from outside even when they
 * run as a subordinate id; /proc/PID/status's NSpid gives the PID the
 * container sees, and the init's uid_map turns host ids back into the
 * container's, whose names come from the container's /etc/passwd.
 */
import {readFileSync, readdirSync, readlinkSync} from 'node:fs'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {currentState, type ContainerRecord} from './container-store.js'
import {readContainerFile} from './exec.js'

/** USER_HZ: 100 on every architecture Linux runs containers on (the kernel reports times in it). */
const CLOCK_TICKS = 100

export interface ProcStat {
  comm: string
  state: string
  ppid: number
  pgrp: number
  ttyNr: number
  utime: number
  stime: number
  nice: number
  starttime: number
  vsize: number
}

/** /proc/PID/stat; the command name is the text between the first '(' and the last ')'. */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  const f = text.slice(close + 2).trim().split(/\s+/)
  // f[0] is field 3 (state) of proc(5).
  const n = (i: number) => Number(f[i - 3] ?? 0)
  return {
    comm: text.slice(open + 1, close),
    state: f[0] ?? '?',
    ppid: n(4),
    pgrp: n(5),
    ttyNr: n(7),
    utime: n(14),
    stime: n(15),
    nice: n(19),
    starttime: n(22),
    vsize: n(23),
  }
}

export interface ProcStatus {
  /** Real, effective, saved, filesystem. */
  uids: number[]
  gids: number[]
  /** The PID in each namespace from the host's down to the process's own. */
  nspid: number[]
  nspgid: number[]
  vmRssKb: number
  seccomp: number
}

export function parseStatus(text: string): ProcStatus {
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim())
  }
  const numbers = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean).map(Number)
  return {
    uids: numbers('Uid'),
    gids: numbers('Gid'),
    nspid: numbers('NSpid'),
    nspgid: numbers('NSpgid'),
    vmRssKb: numbers('VmRSS')[0] ?? 0,
    seccomp: numbers('Seccomp')[0] ?? 0,
  }
}

/** A time.Duration as Go's String() writes it: 0s, 10ms, 1.5s, 2m3.04s, 1h0m0s. */
export function formatGoDuration(nanos: number): string {
  if (nanos === 0) return '0s'
  const sign = nanos < 0 ? '-' : ''
  let ns = Math.abs(Math.round(nanos))
  if (ns < 1e9) {
    const [unit, scale] = ns < 1e3 ? ['ns', 1] : ns < 1e6 ? ['µs', 1e3] : ['ms', 1e6]
    return `${sign}${trimFraction(ns / scale, Math.log10(scale))}${unit}`
  }
  const hours = Math.floor(ns / 3.6e12)
  ns -= hours * 3.6e12
  const minutes = Math.floor(ns / 6e10)
  ns -= minutes * 6e10
  const seconds = `${trimFraction(ns / 1e9, 9)}s`
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`
  if (minutes > 0) return `${sign}${minutes}m${seconds}`
  return `${sign}${seconds}`
}

function trimFraction(value: number, digits: number): string {
  return value.toFixed(digits).replace(/\.?0+$/, '')
}

/** The controlling terminal's name from tty_nr, or '?'. */
export function ttyName(ttyNr: number): string {
  if (ttyNr === 0) return '?'
  const major = (ttyNr >> 8) & 0xfff
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`
  if (major === 5 && minor === 1) return 'console'
  if (major === 5 && minor === 0) return 'tty'
  return '?'
}

export interface IdRange {
  inside: number
  outside: number
  count: number
}

/** /proc/PID/uid_map as seen from outside: `INSIDE OUTSIDE COUNT` per line. */
export function parseIdMap(text: string): IdRange[] {
  return text
    .split('\n')
    .map(l => l.trim().split(/\s+/).map(Number))
    .filter(f => f.length === 3 && f.every(Number.isFinite))
    .map(([inside, outside, count]) => ({inside: inside!, outside: outside!, count: count!}))
}

/** A host id as the container sees it; 65534 (the overflow id) for one it does not map. */
export function toContainerId(hostId: number, map: IdRange[]): number {
  const r = map.find(m => hostId >= m.outside && hostId < m.outside + m.count)
  return r === undefined ? 65534 : r.inside + (hostId - r.outside)
}

export interface ContainerProcess {
  hostPid: number
  stat: ProcStat
  status: ProcStatus
  args: string[]
}

export interface TopContext {
  processes: ContainerProcess[]
  /** Host PID → PID in the container, for the container's processes. */
  nsPids: Map<number, number>
  uidMap: IdRange[]
  gidMap: IdRange[]
  users: Map<number, string>
  groups: Map<number, string>
  hostUsers: Map<number, string>
  /** Seconds since boot, now. */
  uptime: number
}

interface Descriptor {
  names: string[]
  header: string
  value: (p: ContainerProcess, ctx: TopContext) => string
}

function elapsedSeconds(p: ContainerProcess, ctx: TopContext): number {
  return Math.max(0, ctx.uptime - p.stat.starttime / CLOCK_TICKS)
}

function cpuSeconds(p: ContainerProcess): number {
  return (p.stat.utime + p.stat.stime) / CLOCK_TICKS
}

function nameOf(id: number, names: Map<number, string>): string {
  return names.get(id) ?? String(id)
}

function containerPid(hostPid: number, ctx: TopContext): number {
  return ctx.nsPids.get(hostPid) ?? 0
}

const DESCRIPTORS: Descriptor[] = [
  {names: ['pcpu', '%C', '%cpu'], header: '%CPU', value: (p, ctx) => {
    const elapsed = elapsedSeconds(p, ctx)
    return (elapsed > 0 ? (100 * cpuSeconds(p)) / elapsed : 0).toFixed(3)
  }},
  {names: ['group', '%G'], header: 'GROUP', value: (p, ctx) => nameOf(toContainerId(p.status.gids[1] ?? 0, ctx.gidMap), ctx.groups)},
  {names: ['ppid', '%P'], header: 'PPID', value: (p, ctx) => String(containerPid(p.stat.ppid, ctx))},
  {names: ['user', '%U'], header: 'USER', value: (p, ctx) => nameOf(toContainerId(p.status.uids[1] ?? 0, ctx.uidMap), ctx.users)},
  {names: ['uid'], header: 'UID', value: (p, ctx) => String(toContainerId(p.status.uids[1] ?? 0, ctx.uidMap))},
  {names: ['gid'], header: 'GID', value: (p, ctx) => String(toContainerId(p.status.gids[1] ?? 0, ctx.gidMap))},
  {names: ['args', '%a'], header: 'COMMAND', value: p => (p.args.length === 0 || p.args[0] === '' ? `[${p.stat.comm}]` : p.args.join(' '))},
  {names: ['comm', '%c'], header: 'COMMAND', value: p => p.stat.comm},
  {names: ['rgroup', '%g'], header: 'RGROUP', value: (p, ctx) => nameOf(toContainerId(p.status.gids[0] ?? 0, ctx.gidMap), ctx.groups)},
  {names: ['nice', '%n'], header: 'NI', value: p => String(p.stat.nice)},
  {names: ['pid', '%p'], header: 'PID', value: (p, ctx) => String(containerPid(p.hostPid, ctx))},
  {names: ['pgid', '%r'], header: 'PGID', value: p => String(p.status.nspgid[p.status.nspgid.length - 1] ?? p.stat.pgrp)},
  {names: ['etime', '%t'], header: 'ELAPSED', value: (p, ctx) => formatGoDuration(elapsedSeconds(p, ctx) * 1e9)},
  {names: ['ruser', '%u'], header: 'RUSER', value: (p, ctx) => nameOf(toContainerId(p.status.uids[0] ?? 0, ctx.uidMap), ctx.users)},
  {names: ['time', '%x'], header: 'TIME', value: p => formatGoDuration(cpuSeconds(p) * 1e9)},
  {names: ['tty', '%y'], header: 'TTY', value: p => ttyName(p.stat.ttyNr)},
  {names: ['vsz', '%z'], header: 'VSZ', value: p => String(Math.floor(p.stat.vsize / 1024))},
  {names: ['rss'], header: 'RSS', value: p => String(p.status.vmRssKb)},
  {names: ['state'], header: 'STATE', value: p => p.stat.state},
  {names: ['stat'], header: 'STAT', value: p => p.stat.state},
  {names: ['seccomp'], header: 'SECCOMP', value: p => ['disabled', 'strict', 'filter'][p.status.seccomp] ?? '?'},
  {names: ['hpid'], header: 'HPID', value: p => String(p.hostPid)},
  {names: ['huser'], header: 'HUSER', value: (p, ctx) => nameOf(p.status.uids[1] ?? 0, ctx.hostUsers)},
]

export const DEFAULT_DESCRIPTORS = ['user', 'pid', 'ppid', 'pcpu', 'etime', 'tty', 'time', 'args']

/** Descriptor names as given (separate arguments, or comma-separated in one), checked. */
export function parseDescriptors(words: string[]): Descriptor[] {
  const names = words.flatMap(w => w.split(',')).map(w => w.trim()).filter(Boolean)
  const options = names.filter(n => n.startsWith('-'))
  if (options.length > 0) {
    throw new InvalidArgumentError(`ps(1) options are not supported: ${options.join(' ')}`, {hint: `Use format descriptors: ${supportedDescriptors()}`})
  }
  return (names.length === 0 ? DEFAULT_DESCRIPTORS : names).map(name => {
    const d = DESCRIPTORS.find(x => x.names.includes(name))
    if (!d) throw new InvalidArgumentError(`'${name}': unknown descriptor`, {hint: `Supported: ${supportedDescriptors()}`})
    return d
  })
}

function supportedDescriptors(): string {
  return DESCRIPTORS.map(d => d.names[0]).sort().join(', ')
}

/** The header and one row per process (sorted by the PID the container sees). */
export function topTable(descriptors: Descriptor[], ctx: TopContext): string[][] {
  const sorted = [...ctx.processes].sort((a, b) => containerPid(a.hostPid, ctx) - containerPid(b.hostPid, ctx))
  return [descriptors.map(d => d.header), ...sorted.map(p => descriptors.map(d => d.value(p, ctx)))]
}

/** `name:x:ID:…` lines of a passwd or group file, by id. */
export function parseNames(text: string | undefined): Map<number, string> {
  const out = new Map<number, string>()
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':')
    if (f.length < 3 || f[0] === '' || !/^\d+$/.test(f[2]!)) continue
    const id = Number(f[2])
    if (!out.has(id)) out.set(id, f[0]!)
  }
  return out
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function readProcess(hostPid: number): ContainerProcess | undefined {
  const stat = readText(`/proc/${hostPid}/stat`)
  const status = readText(`/proc/${hostPid}/status`)
  if (stat === undefined || status === undefined) return undefined // it exited meanwhile
  const cmdline = readText(`/proc/${hostPid}/cmdline`) ?? ''
  const args = cmdline.split('\0')
  if (args[args.length - 1] === '') args.pop()
  return {hostPid, stat: parseStat(stat), status: parseStatus(status), args}
}

function pidNamespace(pid: number | string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`)
  } catch {
    return undefined
  }
}

/** Every process in the PID namespace of initPid. */
export function containerProcesses(initPid: number): ContainerProcess[] {
  const ns = pidNamespace(initPid)
  if (ns === undefined) throw new TspodError(`reading /proc/${initPid}/ns/pid: the container's first process is gone`)
  const out: ContainerProcess[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || pidNamespace(name) !== ns) continue
    const p = readProcess(Number(name))
    if (p) out.push(p)
  }
  return out
}

function uptimeSeconds(): number {
  return Number((readText('/proc/uptime') ?? '0').split(/\s+/)[0])
}

/** The rows `tspod top` prints for a running container. */
export function topContainer(engine: Engine, record: ContainerRecord, words: string[]): string[][] {
  const descriptors = parseDescriptors(words)
  const state = currentState(engine.store, record.id)
  if (state.status !== 'running' && state.status !== 'paused' || state.pid === undefined) {
    throw new TspodError('top can only be used on running containers: container state improper')
  }
  const processes = containerProcesses(state.pid)
  const nsPids = new Map(processes.map(p => [p.hostPid, p.status.nspid[p.status.nspid.length - 1] ?? p.hostPid]))
  return topTable(descriptors, {
    processes,
    nsPids,
    uidMap: parseIdMap(readText(`/proc/${state.pid}/uid_map`) ?? ''),
    gidMap: parseIdMap(readText(`/proc/${state.pid}/gid_map`) ?? ''),
    users: parseNames(readContainerFile(engine.store, record, '/etc/passwd')),
    groups: parseNames(readContainerFile(engine.store, record, '/etc/group')),
    hostUsers: parseNames(readText('/etc/passwd')),
    uptime: uptimeSeconds(),
  })
}
