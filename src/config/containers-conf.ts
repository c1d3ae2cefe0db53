/**
 * containers.conf(5), read from the places Podman 5 reads it and merged the
 * way it merges: every file that exists is read, later files override earlier
 * ones key by key (tables merge, arrays replace unless they carry Podman's
 * `{append = true}` marker). CONTAINERS_CONF names the only file to read;
 * CONTAINERS_CONF_OVERRIDE names one more, read last in either case.
 *
 * Sections are returned loosely typed (`raw`) with typed getters for the keys
 * tspod uses; those keys are type-checked per file so an error names the file.
 */
import {join} from 'node:path'
import {ConfigError} from '../errors/index.js'
import type {HostPaths} from './paths.js'
import {isTable, listDropIns, readTomlFile, tableAt, typeError, type TomlTable, type TomlValue} from './toml-file.js'

type Kind = 'string' | 'integer' | 'boolean' | 'string[]' | 'string[] table'

/** The keys tspod reads; other keys are kept in `raw` unchecked, as Podman tolerates them too. */
const SCHEMA: Record<string, Record<string, Kind>> = {
  containers: {
    default_capabilities: 'string[]',
    default_ulimits: 'string[]',
    dns_servers: 'string[]',
    env: 'string[]',
    init: 'boolean',
    init_path: 'string',
    label: 'boolean',
    log_driver: 'string',
    log_size_max: 'integer',
    pids_limit: 'integer',
    seccomp_profile: 'string',
    shm_size: 'string',
    tz: 'string',
    umask: 'string',
    userns: 'string',
  },
  engine: {
    active_service: 'string',
    cgroup_manager: 'string',
    events_logger: 'string',
    image_default_transport: 'string',
    network_cmd_path: 'string',
    runtime: 'string',
    runtimes: 'string[] table',
  },
  network: {
    default_rootless_network_cmd: 'string',
    network_backend: 'string',
  },
  tspod: {
    unenforced_limits: 'string',
  },
}

export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]
export const DEFAULT_ENV: readonly string[] = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']
export const DEFAULT_PIDS_LIMIT = 2048

const runtimeDirs = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/sbin', '/bin']
/** Podman's built-in search lists; a [engine.runtimes] entry of the same name replaces one. */
const DEFAULT_RUNTIMES: Readonly<Record<string, readonly string[]>> = {
  crun: [...runtimeDirs.map(d => `${d}/crun`), '/run/current-system/sw/bin/crun'],
  runc: [...runtimeDirs.map(d => `${d}/runc`), '/usr/lib/cri-o-runc/sbin/runc', '/run/current-system/sw/bin/runc'],
}

export type UnenforcedLimits = 'warn' | 'error'

export class ContainersConf {
  /** The merged tables of every file read. */
  readonly raw: TomlTable
  /** The files read, in the order read. */
  readonly files: readonly string[]

  constructor(raw: TomlTable, files: readonly string[]) {
    this.raw = raw
    this.files = files
  }

  /** Any key, untyped: for settings tspod does not yet model. */
  get(section: string, key: string): TomlValue | undefined {
    const table = this.raw[section]
    return isTable(table) ? table[key] : undefined
  }

  private str(section: string, key: string): string | undefined {
    const v = this.get(section, key) as string | undefined
    return v === '' ? undefined : v
  }

  private list(section: string, key: string, fallback: readonly string[]): string[] {
    const v = this.get(section, key) as string[] | undefined
    return [...(v ?? fallback)]
  }

  private num(section: string, key: string, fallback: number): number {
    const v = this.get(section, key) as number | bigint | undefined
    return v === undefined ? fallback : Number(v)
  }

  private bool(section: string, key: string, fallback: boolean): boolean {
    return (this.get(section, key) as boolean | undefined) ?? fallback
  }

  // [containers]
  get env(): string[] { return this.list('containers', 'env', DEFAULT_ENV) }
  get defaultCapabilities(): string[] { return this.list('containers', 'default_capabilities', DEFAULT_CAPABILITIES) }
  /** `name=soft:hard` entries. */
  get defaultUlimits(): string[] { return this.list('containers', 'default_ulimits', []) }
  /** 0 means no limit. */
  get pidsLimit(): number { return this.num('containers', 'pids_limit', DEFAULT_PIDS_LIMIT) }
  /** k8s-file unless configured: tspod has no journald driver of its own to prefer. */
  get logDriver(): string { return this.str('containers', 'log_driver') ?? 'k8s-file' }
  /** Negative means unlimited. */
  get logSizeMax(): number { return this.num('containers', 'log_size_max', -1) }
  get init(): boolean { return this.bool('containers', 'init', false) }
  /** Unset means: search the helper directories for catatonit. */
  get initPath(): string | undefined { return this.str('containers', 'init_path') }
  /** Unset means: the runtime's built-in default profile. */
  get seccompProfile(): string | undefined { return this.str('containers', 'seccomp_profile') }
  /** Empty means: keep the image's time zone. */
  get tz(): string { return this.str('containers', 'tz') ?? '' }
  get umask(): string { return this.str('containers', 'umask') ?? '0022' }
  get userns(): string { return this.str('containers', 'userns') ?? 'host' }
  get shmSize(): string { return this.str('containers', 'shm_size') ?? '65536k' }
  get label(): boolean { return this.bool('containers', 'label', true) }
  /** Podman keeps dns_servers in [containers], not [network]. */
  get dnsServers(): string[] { return this.list('containers', 'dns_servers', []) }

  // [engine]
  /** Unset means: choose (crun when usable, else runc). */
  get runtime(): string | undefined { return this.str('engine', 'runtime') }
  /** Runtime name to candidate paths: Podman's defaults overlaid with [engine.runtimes]. */
  get runtimes(): Record<string, string[]> {
    const configured = (this.get('engine', 'runtimes') as Record<string, string[]> | undefined) ?? {}
    const out: Record<string, string[]> = {}
    for (const [name, list] of Object.entries({...DEFAULT_RUNTIMES, ...configured})) out[name] = [...list]
    return out
  }
  runtimePaths(name: string): string[] | undefined { return this.runtimes[name] }
  get cgroupManager(): string | undefined { return this.str('engine', 'cgroup_manager') }
  get eventsLogger(): string | undefined { return this.str('engine', 'events_logger') }
  get networkCmdPath(): string | undefined { return this.str('engine', 'network_cmd_path') }
  get imageDefaultTransport(): string { return this.str('engine', 'image_default_transport') ?? 'docker://' }
  get activeService(): string | undefined { return this.str('engine', 'active_service') }

  // [network]
  /** Unset means: the network module picks (slirp4netns or pasta). */
  get defaultRootlessNetworkCmd(): string | undefined { return this.str('network', 'default_rootless_network_cmd') }
  get networkBackend(): string | undefined { return this.str('network', 'network_backend') }

  // [tspod]
  /** What to do when a resource limit cannot be enforced (rootless cgroups v1). */
  get unenforcedLimits(): UnenforcedLimits { return (this.str('tspod', 'unenforced_limits') as UnenforcedLimits | undefined) ?? 'warn' }
}

interface Candidate {
  path: string
  /** The env var that named it: such a file must exist. */
  via?: string
}

/** The files to try, in reading order; drop-in directories are listed here. */
export function containersConfCandidates(paths: HostPaths): Candidate[] {
  const out: Candidate[] = []
  const only = paths.env.CONTAINERS_CONF
  if (only) {
    out.push({path: only, via: 'CONTAINERS_CONF'})
  } else {
    const etcFile = join(paths.etcContainers, 'containers.conf')
    out.push({path: join(paths.usrShareContainers, 'containers.conf')}, {path: etcFile})
    addDropIns(out, `${etcFile}.d`)
    if (paths.rootless) {
      const rootlessFile = join(paths.etcContainers, 'containers.rootless.conf')
      out.push({path: rootlessFile})
      addDropIns(out, `${rootlessFile}.d`)
      addDropIns(out, join(`${rootlessFile}.d`, String(paths.uid)))
    }
    const userFile = join(paths.userContainers, 'containers.conf')
    out.push({path: userFile})
    addDropIns(out, `${userFile}.d`)
  }
  const override = paths.env.CONTAINERS_CONF_OVERRIDE
  if (override) out.push({path: override, via: 'CONTAINERS_CONF_OVERRIDE'})
  return out
}

function addDropIns(out: Candidate[], dir: string): void {
  for (const path of listDropIns(dir)) out.push({path})
}

/** Reads and merges every containers.conf that exists; appends each file read to `filesRead`. */
export function loadContainersConf(paths: HostPaths, filesRead: string[] = []): ContainersConf {
  const merged: TomlTable = {}
  const appendMode = new Map<string, boolean>()
  const files: string[] = []
  for (const candidate of containersConfCandidates(paths)) {
    const table = readTomlFile(candidate.path, candidate.via ? {via: candidate.via} : undefined)
    if (!table) continue
    files.push(candidate.path)
    filesRead.push(candidate.path)
    checkContainersConf(table, candidate.path)
    mergeTables(merged, table, appendMode, '')
  }
  return new ContainersConf(merged, files)
}

function checkContainersConf(table: TomlTable, path: string): void {
  for (const [section, keys] of Object.entries(SCHEMA)) {
    const sub = tableAt(table, section, path)
    for (const [key, kind] of Object.entries(keys)) {
      const value = sub[key]
      if (value !== undefined) checkKind(value, kind, path, `[${section}] ${key}`)
    }
  }
  const limits = tableAt(table, 'tspod', path).unenforced_limits
  if (limits !== undefined && limits !== 'warn' && limits !== 'error') {
    throw new ConfigError(`${path}: [tspod] unenforced_limits: must be "warn" or "error", not ${JSON.stringify(limits)}`, {
      hint: `Set unenforced_limits = "warn" or "error" in ${path}.`,
    })
  }
}

function checkKind(value: TomlValue, kind: Kind, path: string, key: string): void {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw typeError(path, key, 'a string', value)
      return
    case 'integer':
      if (typeof value !== 'bigint' && !Number.isInteger(value)) throw typeError(path, key, 'an integer', value)
      return
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError(path, key, 'a boolean', value)
      return
    case 'string[]': {
      if (!Array.isArray(value)) throw typeError(path, key, 'an array of strings', value)
      const items = appendMarker(value) === undefined ? value : value.slice(0, -1)
      for (const item of items) if (typeof item !== 'string') throw typeError(path, key, 'an array of strings', item)
      return
    }
    case 'string[] table':
      if (!isTable(value)) throw typeError(path, key, 'a table', value)
      for (const [name, list] of Object.entries(value)) checkKind(list, 'string[]', path, `${key}.${name}`)
  }
}

/** Podman's `[..., {append = true}]`: the trailing table switches an array to appending. */
function appendMarker(list: TomlValue[]): boolean | undefined {
  const last = list[list.length - 1]
  if (!isTable(last)) return undefined
  const keys = Object.keys(last)
  return keys.length === 1 && typeof last.append === 'boolean' ? last.append : undefined
}

/**
 * Later files override earlier ones key by key. An append marker, once set for
 * a key, holds for the files read after it until one sets it false.
 */
function mergeTables(target: TomlTable, source: TomlTable, appendMode: Map<string, boolean>, prefix: string): void {
  for (const [key, value] of Object.entries(source)) {
    const keyPath = prefix + key
    const current = target[key]
    if (isTable(value) && isTable(current)) {
      mergeTables(current, value, appendMode, `${keyPath}.`)
    } else if (isTable(value)) {
      const copy: TomlTable = {}
      mergeTables(copy, value, appendMode, `${keyPath}.`)
      target[key] = copy
    } else if (Array.isArray(value)) {
      const marker = appendMarker(value)
      if (marker !== undefined) appendMode.set(keyPath, marker)
      const items = marker === undefined ? value : value.slice(0, -1)
      target[key] = appendMode.get(keyPath) && Array.isArray(current) ? [...current, ...items] : [...items]
    } else {
      target[key] = value
    }
  }
}
