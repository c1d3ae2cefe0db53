/**
 * The OCI runtime spec (config.json) of a container, generated from the
 * image config, containers.conf and `tspod run` flags the way Podman 5
 * generates it, for tspod's rootless model: the runtime runs as uid 0 inside
 * tspod's own user namespace, so the spec has no user namespace of its own
 * unless `--userns=keep-id` or `--userns=nomap` asks for a nested one.
 *
 * Everything here is pure computation over the inputs and a few reads of the
 * host (/proc/self, the seccomp profile, device nodes); nothing is written.
 * Host facts can be passed in (`host`) so tests do not depend on the machine.
 */
import {readdirSync, readFileSync, realpathSync, statSync} from 'node:fs'
import {hostname as osHostname, release, constants as osConstants} from 'node:os'
import {posix} from 'node:path'
import {CAPABILITIES} from './capabilities.js'
import {InvalidArgumentError, TspodError, isErrno} from '../errors/index.js'
import type {ContainerConfig} from '../image/oci.js'
import {hostPlatform} from '../image/oci.js'
import type {ContainersConf} from '../config/containers-conf.js'
import type {CgroupInfo} from '../engine/host.js'
import {
  INIT_MOUNT,
  buildMounts,
  parseSize,
  readSourceMountFlags,
  type OciDevice,
  type OciDeviceRule,
  type OciMount,
  type SourceMountFlags,
  type VolumeRequest,
} from './mounts.js'
import {loadSeccompProfile, type OciSeccomp} from './seccomp.js'
import {
  isMapped,
  keepIdMappings,
  nomapMappings,
  parseUsernsFlag,
  resolveGroups,
  resolveUser,
  type OciIdMapping,
  type ReadImageFile,
} from './user.js'

export type {OciDevice, OciDeviceRule, OciMount, VolumeRequest} from './mounts.js'
export type {OciSeccomp} from './seccomp.js'
export type {OciIdMapping} from './user.js'
export {loadSeccompProfile} from './seccomp.js'
export {resolveUser} from './user.js'
export {parseDeviceFlag, parseMountFlag, parseSize, parseTmpfsFlag, parseVolumeFlag, sortMounts} from './mounts.js'

// ---- OCI runtime-spec types (config.md, config-linux.md), JSON names kept ----

/** RLIMIT values are uint64: `unlimited` does not fit a double, hence bigint. */
export type Uint64 = number | bigint

export interface OciRlimit {
  type: string
  hard: Uint64
  soft: Uint64
}

export interface OciCapabilities {
  bounding: string[]
  effective: string[]
  inheritable: string[]
  permitted: string[]
  ambient: string[]
}

export interface OciProcess {
  terminal?: boolean
  user: {uid: number; gid: number; umask?: number; additionalGids?: number[]}
  args: string[]
  env: string[]
  cwd: string
  capabilities: OciCapabilities
  rlimits?: OciRlimit[]
  noNewPrivileges?: boolean
}

export interface OciResources {
  devices?: OciDeviceRule[]
  memory?: {limit?: number; swap?: number}
  cpu?: {shares?: number; quota?: number; period?: number}
  pids?: {limit: number}
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user'
  path?: string
}

export interface OciLinux {
  uidMappings?: OciIdMapping[]
  gidMappings?: OciIdMapping[]
  sysctl?: Record<string, string>
  resources?: OciResources
  namespaces: OciNamespace[]
  devices?: OciDevice[]
  seccomp?: OciSeccomp
  rootfsPropagation?: string
  maskedPaths?: string[]
  readonlyPaths?: string[]
}

export interface OciSpec {
  ociVersion: string
  process: OciProcess
  root: {path: string; readonly?: boolean}
  hostname?: string
  mounts: OciMount[]
  annotations?: Record<string, string>
  linux: OciLinux
}

// ---- inputs and outputs ----

export interface ContainerOptions {
  command?: string[]
  /** A string is a JSON array or one word; `''` (or `[]`) clears the image's entrypoint. */
  entrypoint?: string[] | string
  env: string[]
  envFiles: string[]
  envHost: boolean
  /** Pass the host's proxy variables (Podman's --http-proxy, default true). */
  httpProxy?: boolean
  workdir?: string
  user?: string
  groupAdd: string[]
  hostname?: string
  tty: boolean
  /** Not part of config.json: the monitor keeps stdin open. */
  stdin: boolean
  readOnly: boolean
  /** Default true: with --read-only, /run, /tmp and /var/tmp are tmpfs. */
  readOnlyTmpfs?: boolean
  capAdd: string[]
  capDrop: string[]
  privileged: boolean
  securityOpt: string[]
  /** Unset: containers.conf `userns` (host). */
  userns?: string
  ulimits: string[]
  pidsLimit?: number
  memory?: string
  cpus?: string
  cpuShares?: number
  /** Unset: containers.conf `shm_size`. */
  shmSize?: string
  tmpfs: string[]
  volumes: string[]
  mounts: string[]
  devices: string[]
  /** Unset: containers.conf `init`. */
  init?: boolean
  initPath?: string
  network: 'none' | 'host' | 'private'
  /** Join this network namespace instead of making one (--network container:NAME, ns:PATH). */
  networkNsPath?: string
  stopSignal?: string
  annotations: Record<string, string>
  labels: Record<string, string>
  /** Unset: create it when it comes from the image, as Podman does. */
  workdirCreate?: boolean
  /** Unset: containers.conf `tz`; `local` is the host's zone. */
  tz?: string
}

export interface RootlessIds {
  uid: number
  gid: number
  subUidCount: number
  subGidCount: number
}

/** Facts about the host; each defaults to this machine's. */
export interface SpecHost {
  env: Record<string, string | undefined>
  cwd: string
  /** The capability bounding set tspod's processes have (CAP_ names). */
  boundingCaps: string[]
  /** Current soft and hard limits by ulimit name (nofile, nproc, core…). */
  limits: Record<string, {soft: Uint64; hard: Uint64}>
  /** Go's architecture name: amd64, arm64… */
  arch: string
  kernel: string
  hostname: string
  /**
   * The rootless user's own ids and how many subordinate ids tspod's
   * namespace maps: needed by --userns=keep-id and nomap. Inside tspod's
   * namespace they are read from /proc/self/uid_map and gid_map.
   */
  user?: RootlessIds
  mountFlags: (source: string) => SourceMountFlags
  /** Where the default seccomp profile is looked for, in order. */
  seccompPaths: string[]
  /** Where the init binary (catatonit) is looked for, in order. */
  initPaths: string[]
}

export interface SpecInput {
  id: string
  /** Absolute path of the mounted rootfs. */
  rootfs: string
  imageConfig: ContainerConfig
  /** Reads a file of the image's rootfs as the container sees it (e.g. `/etc/passwd`). */
  lookupUser: ReadImageFile
  conf: ContainersConf
  cgroups: CgroupInfo
  rootless: boolean
  options: ContainerOptions
  /** Files the caller generated, bind-mounted read-write like Podman's. */
  etcFiles: {hosts?: string; resolvConf?: string; hostname?: string; containerEnv?: string}
  /** Named and anonymous volumes, already resolved to host directories. */
  volumeMounts?: Array<{source: string; destination: string; options: string[]}>
  host?: Partial<SpecHost>
}

export interface SpecReport {
  spec: OciSpec
  /** Flag names of resource limits asked for that this host cannot enforce (e.g. `memory`, `pids-limit`). */
  unenforced: string[]
  warnings: string[]
  /** `O` volumes: left out of spec.mounts; the caller mounts an overlay and adds it (then sortMounts). */
  overlayVolumes: VolumeRequest[]
  /** `U` volumes: the caller chowns the source to the container's user before start. */
  chownVolumes: VolumeRequest[]
  /** The working directory, and whether the caller should create it in the rootfs. */
  workdir: {path: string; create: boolean}
  /** The container's user, as resolved. */
  user: {uid: number; gid: number; additionalGids: number[]; home: string}
}

// ---- constants ----

const OCI_VERSION = '1.0.2-dev'
const MANAGER = 'tspod'
const U64_MAX = 2n ** 64n - 1n
/** Podman's default for nofile and nproc when it may raise them (root). */
const RLIMIT_DEFAULT = 1048576n
const CPU_PERIOD = 100000
const MIN_MEMORY = 6 * 1024 * 1024

/** containers/common's defaults (Podman 5). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
  '/sys/fs/selinux',
  '/proc/interrupts',
]
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

const PROXY_ENV = ['http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY']

/** ulimit names to the lines of /proc/self/limits. */
const LIMIT_LINES: Record<string, string> = {
  cpu: 'Max cpu time',
  fsize: 'Max file size',
  data: 'Max data size',
  stack: 'Max stack size',
  core: 'Max core file size',
  rss: 'Max resident set',
  nproc: 'Max processes',
  nofile: 'Max open files',
  memlock: 'Max locked memory',
  as: 'Max address space',
  locks: 'Max file locks',
  sigpending: 'Max pending signals',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
}

// ---- host facts ----

function readBoundingCaps(): string[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find(l => l.startsWith('CapBnd:'))
    const mask = BigInt(`0x${line!.slice(7).trim()}`)
    return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n)
  } catch {
    return [...CAPABILITIES]
  }
}

/** /proc/self/limits, by ulimit name. */
export function parseProcLimits(text: string): Record<string, {soft: Uint64; hard: Uint64}> {
  const out: Record<string, {soft: Uint64; hard: Uint64}> = {}
  const value = (v: string): Uint64 => (v === 'unlimited' ? U64_MAX : Number(v))
  for (const [name, label] of Object.entries(LIMIT_LINES)) {
    const line = text.split('\n').find(l => l.startsWith(label))
    const fields = line?.slice(label.length).trim().split(/\s+/)
    if (fields !== undefined && fields.length >= 2) out[name] = {soft: value(fields[0]!), hard: value(fields[1]!)}
  }
  return out
}

/**
 * In tspod's namespace, id 0 is the user (a range of size 1) and the other
 * ranges are its subordinate ids; outside any namespace (the identity map)
 * there is nothing to learn.
 */
export function parseOwnIds(uidMap: string, gidMap: string): RootlessIds | undefined {
  const rows = (text: string) => text.trim().split('\n').map(line => line.trim().split(/\s+/).map(Number))
  const own = (map: number[][]) => map.find(([inside, , size]) => inside === 0 && size === 1)?.[1]
  const others = (map: number[][]) => map.filter(([inside]) => inside !== 0).reduce((n, row) => n + (row[2] ?? 0), 0)
  const u = rows(uidMap)
  const g = rows(gidMap)
  const uid = own(u)
  const gid = own(g)
  if (uid === undefined || gid === undefined) return undefined
  return {uid, gid, subUidCount: others(u), subGidCount: others(g)}
}

function readOwnIds(): RootlessIds | undefined {
  try {
    return parseOwnIds(readFileSync('/proc/self/uid_map', 'utf8'), readFileSync('/proc/self/gid_map', 'utf8'))
  } catch {
    return undefined
  }
}

function readLimits(): Record<string, {soft: Uint64; hard: Uint64}> {
  try {
    return parseProcLimits(readFileSync('/proc/self/limits', 'utf8'))
  } catch {
    return {}
  }
}

const INIT_DIRS = ['/usr/local/libexec/podman', '/usr/local/lib/podman', '/usr/libexec/podman', '/usr/lib/podman', '/usr/local/bin', '/usr/bin']

function resolveHost(given: Partial<SpecHost> = {}): SpecHost {
  return {
    env: given.env ?? process.env,
    cwd: given.cwd ?? process.cwd(),
    boundingCaps: given.boundingCaps ?? readBoundingCaps(),
    limits: given.limits ?? readLimits(),
    arch: given.arch ?? hostPlatform().architecture,
    kernel: given.kernel ?? release(),
    hostname: given.hostname ?? osHostname(),
    user: 'user' in given ? given.user : readOwnIds(),
    mountFlags: given.mountFlags ?? readSourceMountFlags,
    seccompPaths: given.seccompPaths ?? ['/etc/containers/seccomp.json', '/usr/share/containers/seccomp.json'],
    initPaths: given.initPaths ?? INIT_DIRS.map(dir => `${dir}/catatonit`),
  }
}

function isFile(path: string): boolean {
  return statSync(path, {throwIfNoEntry: false})?.isFile() ?? false
}

// ---- environment ----

function hostValue(env: Record<string, string | undefined>, name: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined
}

/**
 * One `KEY=VALUE`, `KEY` (the host's value, if it has one) or `PREFIX*`
 * (every host variable starting with PREFIX), as Podman reads -e and env
 * files. Returns the entries it stands for.
 */
function expandEnvEntry(entry: string, hostEnv: Record<string, string | undefined>, where: string): string[] {
  const eq = entry.indexOf('=')
  const key = (eq === -1 ? entry : entry.slice(0, eq)).replace(/^[ \t]+/, '')
  if (key === '') {
    throw new InvalidArgumentError(`${where}: invalid variable: ${JSON.stringify(entry)}`, {hint: 'write NAME=VALUE, or NAME alone to pass the host\'s value'})
  }
  if (eq !== -1) return [`${key}=${entry.slice(eq + 1)}`]
  if (key.endsWith('*')) {
    const prefix = key.slice(0, -1)
    return Object.entries(hostEnv)
      .filter(([k, v]) => k.startsWith(prefix) && v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
  }
  const value = hostValue(hostEnv, key)
  return value === undefined ? [] : [`${key}=${value}`]
}

/**
 * Podman's env-file format: one entry a line, leading blanks ignored, lines
 * starting with # skipped, values taken verbatim (no quotes, no escapes).
 */
export function parseEnvFile(text: string, hostEnv: Record<string, string | undefined> = process.env, where = 'env file'): string[] {
  const out: string[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^[ \t]+/, '')
    if (line === '' || line.startsWith('#')) return
    out.push(...expandEnvEntry(line, hostEnv, `${where} line ${i + 1}`))
  })
  return out
}

function readEnvFile(path: string, hostEnv: Record<string, string | undefined>): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const why = isErrno(err, 'ENOENT') ? 'no such file or directory' : (err as Error).message
    throw new InvalidArgumentError(`--env-file ${path}: ${why}`, {hint: 'name an existing file of NAME=VALUE lines'})
  }
  return parseEnvFile(text, hostEnv, `--env-file ${path}`)
}

/** An ordered environment: the first writer of a name fixes its position, the strongest its value. */
class Environment {
  private readonly vars = new Map<string, string>()

  set(entry: string): void {
    const eq = entry.indexOf('=')
    if (eq <= 0) return
    this.vars.set(entry.slice(0, eq), entry.slice(eq + 1))
  }

  setIfAbsent(entry: string): void {
    const eq = entry.indexOf('=')
    if (eq > 0 && !this.vars.has(entry.slice(0, eq))) this.set(entry)
  }

  has(name: string): boolean {
    return this.vars.has(name)
  }

  entries(): string[] {
    return [...this.vars].map(([k, v]) => `${k}=${v}`)
  }
}

/**
 * Podman's precedence, weakest first: its defaults (PATH, container=),
 * containers.conf `env`, the image's Env, the host's environment
 * (--env-host) or proxy variables, --env-file, -e. The image's variables
 * come first in the list.
 */
function buildEnv(input: SpecInput, host: SpecHost): Environment {
  const {options, conf, imageConfig} = input
  const env = new Environment()
  for (const e of imageConfig.Env ?? []) env.set(e)
  for (const e of conf.env) for (const x of expandEnvEntry(e, host.env, 'containers.conf env')) env.setIfAbsent(x)
  env.setIfAbsent('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  env.setIfAbsent(`container=${MANAGER}`)
  if (options.envHost) {
    for (const [k, v] of Object.entries(host.env)) if (v !== undefined) env.set(`${k}=${v}`)
  } else if (options.httpProxy ?? true) {
    for (const name of PROXY_ENV) {
      const v = hostValue(host.env, name)
      if (v !== undefined) env.set(`${name}=${v}`)
    }
  }
  for (const file of options.envFiles) for (const e of readEnvFile(file, host.env)) env.set(e)
  for (const e of options.env) for (const x of expandEnvEntry(e, host.env, `-e ${e}`)) env.set(x)
  return env
}

// ---- command ----

function parseEntrypoint(value: string[] | string | undefined): string[] | undefined {
  if (value === undefined || Array.isArray(value)) return value
  if (value === '') return []
  if (value.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value)
      if (Array.isArray(parsed) && parsed.every(x => typeof x === 'string')) return parsed as string[]
    } catch {
      // Not JSON after all: the whole string is the program, as Podman takes it.
    }
  }
  return [value]
}

/**
 * Podman's combination: the given entrypoint (or the image's) followed by
 * the given command, or by the image's Cmd only when no entrypoint was given.
 */
export function buildArgs(options: Pick<ContainerOptions, 'entrypoint' | 'command'>, image: ContainerConfig): string[] {
  const given = parseEntrypoint(options.entrypoint)
  const entrypoint = given ?? image.Entrypoint ?? []
  const out = entrypoint.length === 1 && entrypoint[0] === '' ? [] : [...entrypoint]
  const command = options.command?.length ? options.command : given === undefined || given.length === 0 ? image.Cmd ?? [] : []
  out.push(...command)
  if (out.length === 0) {
    throw new InvalidArgumentError('no command or entrypoint provided, and no CMD or ENTRYPOINT from image', {
      hint: 'give the command after the image name, e.g. tspod run IMAGE sh -c "…", or set --entrypoint',
    })
  }
  return out
}

// ---- capabilities ----

function normalizeCap(name: string, flag: string): string {
  const upper = name.trim().toUpperCase()
  if (upper === 'ALL') return 'ALL'
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`
  if (!CAPABILITIES.includes(full)) {
    throw new InvalidArgumentError(`${flag} ${name}: unknown capability "${full}"`, {
      hint: 'names as in capabilities(7), with or without CAP_, any case: e.g. NET_ADMIN, cap_sys_ptrace, or ALL',
    })
  }
  return full
}

/** containers/common's merge: drop ALL keeps only the added, add ALL gives the whole bounding set. */
export function mergeCapabilities(base: string[], add: string[], drop: string[], bounding: string[]): string[] {
  const adds = add.map(c => normalizeCap(c, '--cap-add'))
  const drops = drop.map(c => normalizeCap(c, '--cap-drop'))
  const baseCaps = base.map(c => normalizeCap(c, 'containers.conf default_capabilities'))
  let caps: string[]
  if (adds.includes('ALL')) {
    caps = [...bounding]
  } else if (drops.includes('ALL')) {
    caps = adds
  } else {
    const both = adds.find(c => drops.includes(c))
    if (both !== undefined) {
      throw new InvalidArgumentError(`capability "${both}" cannot be dropped and added`, {hint: `give ${both} to only one of --cap-add and --cap-drop`})
    }
    caps = [...baseCaps.filter(c => !drops.includes(c)), ...adds.filter(c => !baseCaps.includes(c))]
  }
  return [...new Set(caps)].filter(c => bounding.includes(c)).sort()
}

// ---- ulimits ----

interface Ulimit {
  name: string
  soft: bigint | 'max'
  hard: bigint | 'max'
}

function parseUlimit(value: string, flag: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value.trim())
  const bad = (why: string) =>
    new InvalidArgumentError(`${flag} ${value}: ${why}`, {hint: `write TYPE=SOFT[:HARD], e.g. ${flag} nofile=1024:2048 (-1 for the current maximum)`})
  if (!m) throw bad('invalid ulimit')
  const name = m[1]!
  if (!(name in LIMIT_LINES)) throw bad(`unknown ulimit type "${name}" (known: ${Object.keys(LIMIT_LINES).join(', ')})`)
  const toValue = (text: string): bigint | 'max' => {
    if (text === '-1') return 'max'
    if (text.startsWith('-')) throw bad(`limits must be -1 or positive, not ${text}`)
    return BigInt(text)
  }
  const soft = toValue(m[2]!)
  const hard = m[3] === undefined ? soft : toValue(m[3])
  if (soft !== 'max' && hard !== 'max' && soft > hard) throw bad(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`)
  return {name, soft, hard}
}

function toUint64(value: bigint): Uint64 {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
}

function buildRlimits(input: SpecInput, host: SpecHost, warnings: string[]): OciRlimit[] {
  const requested = new Map<string, {limit: Ulimit; flag: string}>()
  for (const u of input.conf.defaultUlimits) {
    const limit = parseUlimit(u, 'containers.conf default_ulimits')
    requested.set(limit.name, {limit, flag: 'containers.conf default_ulimits'})
  }
  for (const u of input.options.ulimits) {
    const limit = parseUlimit(u, '--ulimit')
    requested.delete(limit.name)
    requested.set(limit.name, {limit, flag: '--ulimit'})
  }
  const out: OciRlimit[] = []
  for (const {limit, flag} of requested.values()) {
    const current = host.limits[limit.name]
    const hostHard = current === undefined ? U64_MAX : BigInt(current.hard)
    const resolve = (v: bigint | 'max'): bigint => (v === 'max' ? hostHard : v)
    let soft = resolve(limit.soft)
    let hard = resolve(limit.hard)
    // Inside a user namespace a hard limit can only be lowered: asking for
    // more would make the runtime fail at setrlimit(2).
    if (input.rootless && hard > hostHard) {
      warnings.push(`${flag} ${limit.name}: ${hard} is above the hard limit ${hostHard} a rootless user has: using ${hostHard}`)
      hard = hostHard
      if (soft > hard) soft = hard
    }
    out.push({type: `RLIMIT_${limit.name.toUpperCase()}`, hard: toUint64(hard), soft: toUint64(soft)})
  }
  for (const name of ['nofile', 'nproc']) {
    if (requested.has(name)) continue
    let soft = RLIMIT_DEFAULT
    let hard = RLIMIT_DEFAULT
    const current = host.limits[name]
    if (input.rootless && current !== undefined) {
      if (BigInt(current.soft) < soft) soft = BigInt(current.soft)
      if (BigInt(current.hard) < hard) hard = BigInt(current.hard)
    }
    out.push({type: `RLIMIT_${name.toUpperCase()}`, hard: toUint64(hard), soft: toUint64(soft)})
  }
  return out
}

// ---- security options ----

interface SecurityOptions {
  noNewPrivileges: boolean
  seccomp?: string
  mask: string[]
  unmask: string[]
}

function parseSecurityOptions(opts: string[]): SecurityOptions {
  const out: SecurityOptions = {noNewPrivileges: false, mask: [], unmask: []}
  for (const opt of opts) {
    let sep = opt.indexOf('=')
    if (sep === -1) sep = opt.indexOf(':')
    const key = sep === -1 ? opt : opt.slice(0, sep)
    const value = sep === -1 ? undefined : opt.slice(sep + 1)
    const bad = (why: string, hint?: string) => new InvalidArgumentError(`--security-opt ${opt}: ${why}`, hint ? {hint} : undefined)
    switch (key) {
      case 'no-new-privileges':
        if (value !== undefined && value !== 'true' && value !== 'false') throw bad('expected true or false')
        out.noNewPrivileges = value !== 'false'
        continue
      case 'seccomp':
        if (!value) throw bad('needs a profile path or unconfined', 'e.g. --security-opt seccomp=/path/profile.json')
        out.seccomp = value
        continue
      case 'label':
        // Accepted for compatibility: this host has no SELinux labelling to apply.
        continue
      case 'apparmor':
        if (value !== 'unconfined') throw bad('AppArmor profiles are not applied by tspod', 'leave the option out, or use apparmor=unconfined')
        continue
      case 'mask':
        for (const p of (value ?? '').split(':')) {
          if (!p.startsWith('/')) throw bad(`"${p}" is not an absolute path`, 'e.g. --security-opt mask=/proc/cpuinfo:/sys/class')
          out.mask.push(p)
        }
        continue
      case 'unmask':
        if (!value) throw bad('needs ALL or paths', 'e.g. --security-opt unmask=ALL or unmask=/proc/kcore:/sys/firmware')
        out.unmask.push(...value.split(':'))
        continue
      case 'systempaths':
        if (value !== 'unconfined') throw bad('only systempaths=unconfined is known')
        out.unmask.push('ALL')
        continue
    }
    throw bad('unknown security option', 'known: no-new-privileges, seccomp=, label=, apparmor=unconfined, mask=, unmask=, systempaths=unconfined')
  }
  return out
}

/** Go's filepath.Match over one path: * and ? stop at /, [...] classes. */
function globMatch(pattern: string, path: string): boolean {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end === -1) return false
      const body = pattern.slice(i + 1, end).replace(/^\^/, '!').replace(/\\/g, '\\\\')
      re += body.startsWith('!') ? `[^${body.slice(1)}]` : `[${body}]`
      i = end
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += `\\${pattern[++i]}`
    } else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&')
  }
  return new RegExp(`${re}$`).test(path)
}

function shouldMask(path: string, unmask: string[]): boolean {
  return !unmask.some(u => u.toLowerCase() === 'all' || u.split(':').some(p => globMatch(p, path)))
}

function thermalThrottleDirs(): string[] {
  try {
    return readdirSync('/sys/devices/system/cpu')
      .filter(name => /^cpu\d+$/.test(name))
      .map(name => `/sys/devices/system/cpu/${name}/thermal_throttle`)
      .filter(p => statSync(p, {throwIfNoEntry: false}) !== undefined)
  } catch {
    return []
  }
}

// ---- resources ----

function parseCpus(value: string): number {
  const n = Number(value)
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n > 0)) {
    throw new InvalidArgumentError(`--cpus ${value}: must be a positive number`, {hint: 'e.g. --cpus 1.5'})
  }
  return n
}

function buildResources(input: SpecInput, unenforced: string[]): OciResources | undefined {
  const {options, conf, rootless, cgroups} = input
  const memory = options.memory === undefined ? undefined : parseSize(options.memory, '--memory')
  if (memory !== undefined && memory < MIN_MEMORY) {
    throw new InvalidArgumentError(`--memory ${options.memory}: minimum memory limit allowed is 6MB`, {hint: 'e.g. --memory 64m'})
  }
  const cpus = options.cpus === undefined ? undefined : parseCpus(options.cpus)
  if (options.cpuShares !== undefined && !(Number.isInteger(options.cpuShares) && options.cpuShares >= 0)) {
    throw new InvalidArgumentError(`--cpu-shares ${options.cpuShares}: must be a whole number`)
  }
  if (options.pidsLimit !== undefined && !Number.isInteger(options.pidsLimit)) {
    throw new InvalidArgumentError(`--pids-limit ${options.pidsLimit}: must be a whole number (-1 for no limit)`)
  }
  if (rootless && !cgroups.rootlessLimits) {
    // Podman drops its own default pids limit silently here; only what the user asked for is reported.
    if (options.memory !== undefined) unenforced.push('memory')
    if (options.cpus !== undefined) unenforced.push('cpus')
    if (options.cpuShares !== undefined) unenforced.push('cpu-shares')
    if (options.pidsLimit !== undefined) unenforced.push('pids-limit')
    return undefined
  }
  const out: OciResources = {}
  const pids = options.pidsLimit ?? conf.pidsLimit
  if (pids > 0) out.pids = {limit: pids}
  if (memory !== undefined) out.memory = {limit: memory, swap: 2 * memory}
  if (cpus !== undefined || options.cpuShares !== undefined) {
    out.cpu = {}
    if (options.cpuShares !== undefined) out.cpu.shares = options.cpuShares
    if (cpus !== undefined) {
      out.cpu.quota = Math.round(cpus * CPU_PERIOD)
      out.cpu.period = CPU_PERIOD
    }
  }
  return out
}

// ---- misc ----

function signalNumber(value: string, flag: string): number {
  const text = value.trim().toUpperCase()
  if (/^\d+$/.test(text) && Number(text) > 0 && Number(text) < 65) return Number(text)
  const name = text.startsWith('SIG') ? text : `SIG${text}`
  const n = (osConstants.signals as Record<string, number>)[name]
  if (n === undefined) throw new InvalidArgumentError(`${flag} ${value}: unknown signal`, {hint: 'e.g. SIGTERM, TERM, KILL or 15'})
  return n
}

function parseUmask(text: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) {
    throw new InvalidArgumentError(`containers.conf umask ${text}: must be octal, e.g. 0022`)
  }
  return parseInt(text, 8)
}

function defaultSysctls(conf: ContainersConf, network: ContainerOptions['network']): Record<string, string> | undefined {
  const list = conf.get('containers', 'default_sysctls')
  if (!Array.isArray(list)) return undefined
  const out: Record<string, string> = {}
  for (const item of list) {
    if (typeof item !== 'string') continue
    const eq = item.indexOf('=')
    if (eq <= 0) continue
    const key = item.slice(0, eq).trim()
    // As Podman: network sysctls mean nothing without a network namespace of our own.
    if (network === 'host' && key.startsWith('net.')) continue
    out[key] = item.slice(eq + 1)
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function findInit(input: SpecInput, host: SpecHost): string {
  const explicit = input.options.initPath ?? input.conf.initPath
  if (explicit !== undefined) {
    if (!isFile(explicit)) {
      throw new InvalidArgumentError(`--init: init binary ${explicit} not found`, {hint: 'apt-get install catatonit, or name an existing binary with --init-path'})
    }
    return explicit
  }
  const found = host.initPaths.find(isFile)
  if (found === undefined) {
    throw new InvalidArgumentError(`--init: no init binary found (looked for ${host.initPaths.join(', ')})`, {
      hint: 'as root, run: apt-get install catatonit (or name one with --init-path or containers.conf init_path)',
    })
  }
  return found
}

function timezoneSource(tz: string): string {
  if (tz === 'local') {
    try {
      return realpathSync('/etc/localtime')
    } catch {
      throw new InvalidArgumentError('--tz local: this host has no /etc/localtime', {hint: 'name a zone instead, e.g. --tz Europe/Berlin'})
    }
  }
  const path = `/usr/share/zoneinfo/${tz}`
  if (tz.split('/').includes('..') || !isFile(path)) {
    throw new InvalidArgumentError(`--tz ${tz}: unknown time zone`, {hint: 'names come from /usr/share/zoneinfo, e.g. --tz Europe/Berlin or --tz local'})
  }
  return path
}

/** Podman's rule: shared propagation anywhere makes the rootfs shared, slave makes it rslave. */
function rootfsPropagation(mounts: OciMount[]): string | undefined {
  let out: string | undefined
  for (const m of mounts) {
    for (const opt of m.options ?? []) {
      if (opt === 'shared' || opt === 'rshared') return 'shared'
      if (opt === 'slave' || opt === 'rslave') out = 'rslave'
    }
  }
  return out
}

// ---- user namespace and user ----

interface UsernsSetup {
  uidMappings?: OciIdMapping[]
  gidMappings?: OciIdMapping[]
  /** keep-id's `UID:GID`, the default user when neither --user nor the image names one. */
  defaultUser?: string
  /** The gids that exist in the container, when known. */
  containerGids?: OciIdMapping[]
}

function setUpUserns(input: SpecInput, host: SpecHost): UsernsSetup {
  const flag = input.options.userns ?? input.conf.userns
  const userns = parseUsernsFlag(flag)
  // tspod's own namespace maps the user as 0 and the subordinate range after it.
  const ownGids = input.rootless && host.user ? [{containerID: 0, hostID: 0, size: host.user.subGidCount + 1}] : undefined
  if (userns.mode === 'host') return {containerGids: ownGids}
  if (!input.rootless) {
    throw new InvalidArgumentError(`--userns=${flag}: only supported rootless`, {hint: 'leave --userns out when running as root'})
  }
  if (host.user === undefined) {
    throw new TspodError(`--userns=${flag}: the rootless user's ids were not passed to the spec generator`)
  }
  const {uid, gid, subUidCount, subGidCount} = host.user
  if (userns.mode === 'nomap') {
    const gidMappings = nomapMappings(subGidCount)
    return {uidMappings: nomapMappings(subUidCount), gidMappings, containerGids: gidMappings}
  }
  const cUid = userns.uid ?? uid
  const cGid = userns.gid ?? gid
  const gidMappings = keepIdMappings(cGid, subGidCount)
  return {uidMappings: keepIdMappings(cUid, subUidCount), gidMappings, defaultUser: `${cUid}:${cGid}`, containerGids: gidMappings}
}

/**
 * Podman's additional gids: the primary gid when a user was named, then
 * --group-add, then the memberships /etc/group lists (unless the group was
 * named explicitly), skipping gids the user namespace does not have.
 */
function resolveProcessUser(
  input: SpecInput,
  userns: UsernsSetup,
  warnings: string[],
  annotations: Record<string, string>,
): SpecReport['user'] {
  const {options, imageConfig} = input
  // As in Podman, the image's USER wins over keep-id's default user.
  const userSpec = options.user || imageConfig.User || userns.defaultUser || undefined
  const resolved = resolveUser(userSpec, input.lookupUser)
  const additionalGids: number[] = []
  const addGid = (gid: number) => {
    if (!additionalGids.includes(gid)) additionalGids.push(gid)
  }
  if (userSpec !== undefined) addGid(resolved.gid)
  const groupAdd = options.groupAdd.filter(g => g !== 'keep-groups')
  if (groupAdd.length < options.groupAdd.length) {
    if (groupAdd.length > 0) {
      throw new InvalidArgumentError('--group-add keep-groups: cannot be combined with other groups', {hint: 'give either keep-groups or a list of groups'})
    }
    // crun's extension: keep the supplementary groups tspod itself has.
    annotations['run.oci.keep_original_groups'] = '1'
  }
  for (const gid of resolveGroups(groupAdd, input.lookupUser)) addGid(gid)
  if (!userSpec?.includes(':')) {
    for (const gid of resolved.additionalGids) {
      if (userns.containerGids === undefined || isMapped(gid, userns.containerGids)) addGid(gid)
      else warnings.push(`additional gid ${gid} is not present in the user namespace: not set`)
    }
  }
  return {uid: resolved.uid, gid: resolved.gid, additionalGids, home: resolved.home}
}

// ---- the spec ----

function buildCapabilities(input: SpecInput, host: SpecHost, uid: number, warnings: string[]): OciCapabilities {
  const {options, conf, imageConfig} = input
  let caps = options.privileged
    ? [...host.boundingCaps].sort()
    : mergeCapabilities(conf.defaultCapabilities, options.capAdd, options.capDrop, host.boundingCaps)
  // An image may name the only capabilities it needs; Podman narrows to them when they are allowed.
  const required = {...imageConfig.Labels, ...options.labels}['io.containers.capabilities']
  if (!options.privileged && required !== undefined) {
    const wanted = required.trim() === '' ? [] : required.split(',').map(c => normalizeCap(c, 'label io.containers.capabilities'))
    const missing = wanted.filter(c => !caps.includes(c))
    if (missing.length === 0) caps = [...new Set(wanted)].sort()
    else warnings.push(`capabilities requested by the image are not allowed by default: ${missing.join(',')}`)
  }
  if (uid === 0) return {bounding: caps, effective: caps, inheritable: [], permitted: caps, ambient: []}
  // Any other user gets only what --cap-add names, raised as ambient so they survive the exec.
  const userCaps = mergeCapabilities([], options.capAdd, [], host.boundingCaps)
  return {bounding: caps, effective: userCaps, inheritable: userCaps, permitted: userCaps, ambient: userCaps}
}

function buildMaskedPaths(privileged: boolean, security: SecurityOptions, maskSysKernel: boolean): {maskedPaths: string[]; readonlyPaths: string[]} {
  const maskedPaths = maskSysKernel ? ['/sys/kernel'] : []
  let readonlyPaths: string[] = []
  if (!privileged) {
    for (const p of [...DEFAULT_MASKED_PATHS, ...thermalThrottleDirs()]) if (shouldMask(p, security.unmask)) maskedPaths.push(p)
    readonlyPaths = DEFAULT_READONLY_PATHS.filter(p => shouldMask(p, security.unmask))
  }
  for (const p of security.mask) if (!maskedPaths.includes(p)) maskedPaths.push(p)
  return {maskedPaths, readonlyPaths}
}

/** --security-opt seccomp=, else (unless privileged) containers.conf's profile or the distribution's. */
function chooseSeccomp(input: SpecInput, host: SpecHost, security: SecurityOptions, caps: string[], warnings: string[]): OciSeccomp | undefined {
  if (security.seccomp !== undefined) return loadSeccompProfile(security.seccomp, caps, host.arch, {kernel: host.kernel})
  if (input.options.privileged) return undefined
  const profile = input.conf.seccompProfile ?? host.seccompPaths.find(isFile)
  if (profile === undefined) {
    warnings.push(
      `no seccomp profile found (looked for ${host.seccompPaths.join(', ')}): the container runs without a seccomp filter; ` +
        'install one with: apt-get install golang-github-containers-common',
    )
    return undefined
  }
  return loadSeccompProfile(profile, caps, host.arch, {kernel: host.kernel})
}

export function generateSpec(input: SpecInput): SpecReport {
  const {options, conf, imageConfig, rootless, cgroups} = input
  const host = resolveHost(input.host)
  const warnings: string[] = []
  const unenforced: string[] = []
  const annotations: Record<string, string> = {...options.annotations}
  const security = parseSecurityOptions(options.securityOpt)

  const userns = setUpUserns(input, host)
  const user = resolveProcessUser(input, userns, warnings, annotations)
  const hostname = options.hostname ?? (options.network === 'host' ? host.hostname : input.id.slice(0, 12))

  const env = buildEnv(input, host)
  if (options.tty && !env.has('TERM')) env.set('TERM=xterm')
  if (!env.has('HOSTNAME')) env.set(`HOSTNAME=${hostname}`)
  if (!env.has('HOME')) env.set(`HOME=${user.home}`)

  const init = options.init ?? conf.init
  const initPath = init ? findInit(input, host) : undefined
  const args = buildArgs(options, imageConfig)
  if (init) args.unshift(INIT_MOUNT, '--')

  if (options.workdir !== undefined && !options.workdir.startsWith('/')) {
    throw new InvalidArgumentError(`--workdir ${options.workdir}: must be an absolute path`, {hint: `e.g. --workdir /${options.workdir}`})
  }
  const imageWorkdir = imageConfig.WorkingDir ? posix.join('/', imageConfig.WorkingDir) : undefined
  const cwd = options.workdir ?? imageWorkdir ?? '/'
  // Podman creates the image's WORKDIR when missing, but insists that a --workdir exists.
  const workdir = {path: cwd, create: options.workdirCreate ?? (options.workdir === undefined && imageWorkdir !== undefined)}

  const capabilities = buildCapabilities(input, host, user.uid, warnings)

  const tz = options.tz ?? conf.tz
  const unmasksCgroup = security.unmask.some(u => u.toLowerCase() === 'all' || u.split(':').some(p => posix.normalize(p).replace(/\/$/, '') === '/sys/fs/cgroup'))
  const mountResult = buildMounts({
    rootless,
    privileged: options.privileged,
    readOnly: options.readOnly,
    readOnlyTmpfs: options.readOnlyTmpfs ?? true,
    network: options.network,
    newUserns: userns.uidMappings !== undefined,
    cgroupVersion: cgroups.version,
    cgroupWritable: cgroups.version === 'v2' && (options.privileged || unmasksCgroup),
    ttyGroupMapped: userns.containerGids === undefined || isMapped(5, userns.containerGids),
    shmSize: parseSize(options.shmSize ?? conf.shmSize, '--shm-size'),
    etcFiles: input.etcFiles,
    localtime: tz === '' ? undefined : timezoneSource(tz),
    initPath,
    tmpfs: options.tmpfs,
    volumes: options.volumes,
    mounts: options.mounts,
    volumeMounts: input.volumeMounts ?? [],
    devices: options.devices,
    cwd: host.cwd,
    mountFlags: host.mountFlags,
  })

  const namespaces: OciNamespace[] = [{type: 'pid'}]
  if (options.network !== 'host') namespaces.push(options.networkNsPath ? {type: 'network', path: options.networkNsPath} : {type: 'network'})
  namespaces.push({type: 'ipc'}, {type: 'uts'}, {type: 'mount'})
  if (cgroups.version === 'v2') namespaces.push({type: 'cgroup'})
  if (userns.uidMappings !== undefined) namespaces.push({type: 'user'})

  const {maskedPaths, readonlyPaths} = buildMaskedPaths(options.privileged, security, mountResult.maskSysKernel)
  const seccomp = chooseSeccomp(input, host, security, capabilities.bounding, warnings)

  let resources = buildResources(input, unenforced)
  if (!rootless && !options.privileged) {
    resources ??= {}
    resources.devices = [{allow: false, access: 'rwm'}, ...mountResult.deviceRules]
  }

  annotations['io.container.manager'] = MANAGER
  const stopSignal = options.stopSignal ?? imageConfig.StopSignal
  if (stopSignal) annotations['org.opencontainers.image.stopSignal'] = String(signalNumber(stopSignal, '--stop-signal'))

  const process: OciProcess = {
    ...(options.tty ? {terminal: true} : {}),
    user: {
      uid: user.uid,
      gid: user.gid,
      umask: parseUmask(conf.umask),
      ...(user.additionalGids.length > 0 ? {additionalGids: user.additionalGids} : {}),
    },
    args,
    env: env.entries(),
    cwd,
    capabilities,
    rlimits: buildRlimits(input, host, warnings),
    ...(security.noNewPrivileges ? {noNewPrivileges: true} : {}),
  }

  const linux: OciLinux = {namespaces}
  if (userns.uidMappings !== undefined) {
    linux.uidMappings = userns.uidMappings
    linux.gidMappings = userns.gidMappings
  }
  const sysctl = defaultSysctls(conf, options.network)
  if (sysctl !== undefined) linux.sysctl = sysctl
  if (resources !== undefined && Object.keys(resources).length > 0) linux.resources = resources
  if (mountResult.devices.length > 0) linux.devices = mountResult.devices
  if (seccomp !== undefined) linux.seccomp = seccomp
  const propagation = rootfsPropagation(mountResult.mounts)
  if (propagation !== undefined) linux.rootfsPropagation = propagation
  if (maskedPaths.length > 0) linux.maskedPaths = maskedPaths
  if (readonlyPaths.length > 0) linux.readonlyPaths = readonlyPaths

  return {
    spec: {
      ociVersion: OCI_VERSION,
      process,
      root: {path: input.rootfs, ...(options.readOnly ? {readonly: true} : {})},
      hostname,
      mounts: mountResult.mounts,
      annotations,
      linux,
    },
    unenforced,
    warnings,
    overlayVolumes: mountResult.overlayVolumes,
    chownVolumes: mountResult.chownVolumes,
    workdir,
    user,
  }
}

/**
 * config.json text. JSON.stringify cannot write uint64 values above 2^53
 * (an unlimited rlimit is 2^64-1), so bigints are written as exact digits.
 */
export function serializeSpec(spec: OciSpec): string {
  const marker = '\u0000u64:'
  const text = JSON.stringify(spec, (_key, value: unknown) => (typeof value === 'bigint' ? `${marker}${value}` : value), 2)
  return text.replace(/"\\u0000u64:(\d+)"/g, '$1')
}
