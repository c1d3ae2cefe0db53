/**
 * The mount flags of `tspod run` (`-v`, `--mount`, `--tmpfs`, `--device`,
 * `--shm-size`) parsed and checked the way Podman checks them, and the
 * mount options they turn into in config.json.
 *
 * Option handling follows Podman's: a bind gets `rbind` and `rprivate`
 * unless told otherwise, and inherits `nosuid`/`nodev`/`noexec` from the
 * mount its source lives on (rootless, the kernel refuses to drop those
 * "locked" flags on a remount, so leaving them out would make a read-only
 * bind fail). A tmpfs gets `rw`, `nosuid`, `nodev` and `tmpcopyup`.
 */
import {lstatSync, readdirSync, readFileSync, realpathSync, statSync, type BigIntStats} from 'node:fs'
import {posix, resolve} from 'node:path'
import {InvalidArgumentError} from '../errors/index.js'

export interface OciMount {
  destination: string
  type?: string
  source?: string
  options?: string[]
}

/** A bind request, before option processing. */
export interface BindFlag {
  kind: 'bind'
  source: string
  destination: string
  options: string[]
}

export interface NamedVolumeFlag {
  kind: 'named'
  name: string
  destination: string
  options: string[]
}

export interface AnonymousVolumeFlag {
  kind: 'anonymous'
  destination: string
  options: string[]
}

export interface TmpfsFlag {
  kind: 'tmpfs'
  destination: string
  options: string[]
}

export type VolumeFlag = BindFlag | NamedVolumeFlag | AnonymousVolumeFlag
export type MountFlag = BindFlag | NamedVolumeFlag | AnonymousVolumeFlag | TmpfsFlag

export interface DeviceFlag {
  source: string
  destination: string
  permissions: string
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const PROPAGATION = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']

function checkDestination(flag: string, value: string, destination: string): string {
  if (destination === '' || !destination.startsWith('/')) {
    throw new InvalidArgumentError(`${flag} ${value}: invalid container path "${destination}": must be an absolute path`, {
      hint: `write the path inside the container from the root, e.g. ${flag} ${flag === '--tmpfs' ? '/data' : '/host/dir:/data'}`,
    })
  }
  return posix.normalize(destination).replace(/(.)\/$/, '$1')
}

/** A host path as given: absolute, or relative to the working directory when it starts with a dot. */
function isHostPath(source: string): boolean {
  return source.startsWith('/') || source.startsWith('.')
}

function splitOptions(text: string | undefined): string[] {
  return text === undefined || text === '' ? [] : text.split(',')
}

/**
 * `-v [SRC:]DST[:OPTS]`. SRC is a host path (absolute, or starting with `.`)
 * for a bind, otherwise a volume name; no SRC makes an anonymous volume.
 */
export function parseVolumeFlag(value: string, cwd = process.cwd()): VolumeFlag {
  const parts = value.split(':')
  if (value === '' || parts.length > 3) {
    throw new InvalidArgumentError(`-v ${value}: expected SOURCE:DESTINATION[:OPTIONS] or DESTINATION`, {
      hint: 'e.g. -v /host/dir:/data:ro, -v myvolume:/data, or -v /data for an anonymous volume',
    })
  }
  if (parts.length === 1) {
    return {kind: 'anonymous', destination: checkDestination('-v', value, value), options: []}
  }
  const [source, dest, opts] = parts as [string, string, string | undefined]
  if (source === '') {
    throw new InvalidArgumentError(`-v ${value}: host directory cannot be empty`, {hint: 'e.g. -v /host/dir:/data'})
  }
  const destination = checkDestination('-v', value, dest)
  const options = splitOptions(opts)
  if (isHostPath(source)) return {kind: 'bind', source: resolve(cwd, source), destination, options}
  if (!VOLUME_NAME.test(source)) {
    throw new InvalidArgumentError(`-v ${value}: invalid volume name "${source}"`, {
      hint: 'a host path must start with / or ., a volume name with a letter or digit followed by letters, digits, _ . -',
    })
  }
  return {kind: 'named', name: source, destination, options}
}

/** `--tmpfs DST[:OPTS]`. */
export function parseTmpfsFlag(value: string): TmpfsFlag {
  const colon = value.indexOf(':')
  const dest = colon === -1 ? value : value.slice(0, colon)
  const options = colon === -1 ? [] : splitOptions(value.slice(colon + 1))
  return {kind: 'tmpfs', destination: checkDestination('--tmpfs', value, dest), options}
}

function boolValue(flag: string, value: string, key: string, text: string | undefined): boolean {
  if (text === undefined || text === 'true' || text === '1') return true
  if (text === 'false' || text === '0') return false
  throw new InvalidArgumentError(`${flag} ${value}: ${key}=${text}: expected true or false`)
}

/**
 * `--mount type=bind|volume|tmpfs,…` with Podman's keys: source/src,
 * destination/dst/target, ro/readonly/rw, bind-propagation,
 * bind-nonrecursive, relabel, U/chown, tmpfs-size, tmpfs-mode, tmpcopyup,
 * notmpcopyup, [no]exec, [no]suid, [no]dev, nocopy.
 */
export function parseMountFlag(value: string, cwd = process.cwd()): MountFlag {
  const flag = '--mount'
  const fields = new Map<string, string | undefined>()
  const order: string[] = []
  for (const field of value.split(',')) {
    if (field === '') continue
    const eq = field.indexOf('=')
    const key = (eq === -1 ? field : field.slice(0, eq)).trim()
    const val = eq === -1 ? undefined : field.slice(eq + 1)
    if (fields.has(key)) throw new InvalidArgumentError(`${flag} ${value}: ${key} given more than once`)
    fields.set(key, val)
    order.push(key)
  }
  const type = fields.get('type')
  if (type === undefined) {
    throw new InvalidArgumentError(`${flag} ${value}: type is required`, {hint: 'start with type=bind, type=volume or type=tmpfs'})
  }
  const source = fields.get('source') ?? fields.get('src')
  const dest = fields.get('destination') ?? fields.get('dst') ?? fields.get('target')
  if (dest === undefined) {
    throw new InvalidArgumentError(`${flag} ${value}: destination is required`, {hint: 'add destination=/path/in/container (or dst= / target=)'})
  }
  const destination = checkDestination(flag, value, dest)
  const options: string[] = []
  const unknown = (key: string) =>
    new InvalidArgumentError(`${flag} ${value}: unknown option "${key}" for type=${type}`, {
      hint: 'see podman-run(1) --mount for the options of each type',
    })

  for (const key of order) {
    const val = fields.get(key)
    switch (key) {
      case 'type':
      case 'source':
      case 'src':
      case 'destination':
      case 'dst':
      case 'target':
      case 'consistency':
        continue
      case 'ro':
      case 'readonly':
        options.push(boolValue(flag, value, key, val) ? 'ro' : 'rw')
        continue
      case 'rw':
        options.push(boolValue(flag, value, key, val) ? 'rw' : 'ro')
        continue
      case 'exec':
      case 'noexec':
      case 'suid':
      case 'nosuid':
      case 'dev':
      case 'nodev':
        options.push(key)
        continue
      case 'U':
      case 'chown':
        if (boolValue(flag, value, key, val)) options.push('U')
        continue
    }
    if (type === 'bind') {
      switch (key) {
        case 'bind-propagation':
          if (val === undefined || !PROPAGATION.includes(val)) {
            throw new InvalidArgumentError(`${flag} ${value}: invalid bind-propagation "${val ?? ''}"`, {hint: `use one of ${PROPAGATION.join(', ')}`})
          }
          options.push(val)
          continue
        case 'bind-nonrecursive':
          if (boolValue(flag, value, key, val)) options.push('bind')
          continue
        case 'relabel':
          if (val !== 'shared' && val !== 'private') throw new InvalidArgumentError(`${flag} ${value}: relabel must be shared or private`)
          options.push(val === 'shared' ? 'z' : 'Z')
          continue
        case 'z':
        case 'Z':
          options.push(key)
          continue
      }
    } else if (type === 'tmpfs') {
      switch (key) {
        case 'tmpfs-size':
          if (val === undefined) throw new InvalidArgumentError(`${flag} ${value}: tmpfs-size needs a value, e.g. tmpfs-size=64m`)
          options.push(`size=${val}`)
          continue
        case 'tmpfs-mode':
          if (val === undefined || !/^[0-7]{1,4}$/.test(val)) throw new InvalidArgumentError(`${flag} ${value}: tmpfs-mode must be octal, e.g. tmpfs-mode=1777`)
          options.push(`mode=${val}`)
          continue
        case 'tmpcopyup':
        case 'notmpcopyup':
          options.push(key)
          continue
      }
    } else if (type === 'volume') {
      if (key === 'nocopy') continue
    }
    throw unknown(key)
  }

  switch (type) {
    case 'bind':
      if (source === undefined || source === '') {
        throw new InvalidArgumentError(`${flag} ${value}: type=bind needs a source`, {hint: 'add source=/host/path (or src=)'})
      }
      return {kind: 'bind', source: resolve(cwd, source), destination, options}
    case 'tmpfs':
      if (source !== undefined) throw new InvalidArgumentError(`${flag} ${value}: type=tmpfs takes no source`)
      return {kind: 'tmpfs', destination, options}
    case 'volume':
      if (source === undefined || source === '') return {kind: 'anonymous', destination, options}
      if (!VOLUME_NAME.test(source)) throw new InvalidArgumentError(`${flag} ${value}: invalid volume name "${source}"`)
      return {kind: 'named', name: source, destination, options}
  }
  throw new InvalidArgumentError(`${flag} ${value}: unsupported mount type "${type}"`, {hint: 'tspod supports type=bind, type=volume and type=tmpfs'})
}

function isDeviceMode(text: string): boolean {
  return /^[rwm]{1,3}$/.test(text) && new Set(text).size === text.length
}

/** `--device SRC[:DST][:PERMISSIONS]`, permissions a mix of r, w, m (default rwm). */
export function parseDeviceFlag(value: string): DeviceFlag {
  const parts = value.split(':')
  const bad = (why: string) =>
    new InvalidArgumentError(`--device ${value}: ${why}`, {hint: 'e.g. --device /dev/fuse, --device /dev/sda:/dev/xvda:rwm'})
  if (parts.length > 3 || parts[0] === '') throw bad('expected HOST-DEVICE[:CONTAINER-DEVICE][:PERMISSIONS]')
  if (parts[0]!.includes('=')) throw bad('CDI device names are not supported by tspod')
  const source = parts[0]!
  if (!source.startsWith('/')) throw bad(`invalid device path "${source}": must be absolute`)
  let destination = source
  let permissions = 'rwm'
  if (parts.length === 3) {
    if (!isDeviceMode(parts[2]!)) throw bad(`invalid device mode "${parts[2]}"`)
    permissions = parts[2]!
  }
  if (parts.length >= 2) {
    const second = parts[1]!
    if (parts.length === 2 && isDeviceMode(second)) {
      permissions = second
    } else if (second.startsWith('/')) {
      destination = second
    } else {
      throw bad(`invalid device mode or path "${second}"`)
    }
  }
  return {source, destination, permissions}
}

const SIZE_UNITS: Record<string, number> = {'': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5}

/** Podman's (docker/go-units) binary sizes: `64m`, `1.5g`, `512k`, `1024`, `2GiB`. */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(value.trim())
  if (!m) {
    throw new InvalidArgumentError(`${flag} ${value}: invalid size`, {hint: `give a number with an optional unit b, k, m, g, e.g. ${flag} 64m`})
  }
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!)
}

/** Flags the kernel keeps on a bind of this source: those of the mount it is on. */
export interface SourceMountFlags {
  nosuid: boolean
  nodev: boolean
  noexec: boolean
}

function unescapeMountinfo(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/**
 * The per-mount flags of the mount `path` lives on, from mountinfo text (the
 * last of stacked mounts wins, as it hides the ones under it).
 */
export function mountFlagsOf(path: string, mountinfo: string): SourceMountFlags {
  let best: {point: string; options: string[]} | undefined
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ')
    if (f.length < 6) continue
    const point = unescapeMountinfo(f[4]!)
    const inside = point === '/' || path === point || path.startsWith(`${point}/`)
    if (inside && (best === undefined || point.length >= best.point.length)) best = {point, options: f[5]!.split(',')}
  }
  const opts = best?.options ?? []
  return {nosuid: opts.includes('nosuid'), nodev: opts.includes('nodev'), noexec: opts.includes('noexec')}
}

/** mountFlagsOf for this process's mount namespace; a source that cannot be resolved gets none. */
export function readSourceMountFlags(path: string): SourceMountFlags {
  try {
    return mountFlagsOf(realpathSync(path), readFileSync('/proc/self/mountinfo', 'utf8'))
  } catch {
    return {nosuid: false, nodev: false, noexec: false}
  }
}

export interface ProcessedOptions {
  options: string[]
  /** `U`: the caller chowns the source to the container's user. */
  chown: boolean
  /** `O`: the caller mounts an overlay with the source as its lower layer. */
  overlay: boolean
  /** `upperdir=`/`workdir=` given with `O`. */
  overlayOptions: string[]
}

/**
 * Checks a bind's or tmpfs's options as Podman does (one of each pair, only
 * known keys) and adds the defaults. z/Z are accepted and dropped: there is
 * no SELinux labelling here.
 */
export function processMountOptions(
  options: string[],
  kind: 'bind' | 'tmpfs',
  context: {flag: string; value: string; sourceFlags?: SourceMountFlags},
): ProcessedOptions {
  const out: string[] = []
  const seen = new Set<string>()
  const result: ProcessedOptions = {options: out, chown: false, overlay: false, overlayOptions: []}
  let recursive = true
  const fail = (why: string, hint?: string) => new InvalidArgumentError(`${context.flag} ${context.value}: ${why}`, hint ? {hint} : undefined)
  const once = (group: string, opt: string, pair: string) => {
    if (seen.has(group)) throw fail(`only one of ${pair} can be used`)
    seen.add(group)
    out.push(opt)
  }
  const tmpfsOnly = (key: string) => {
    if (kind !== 'tmpfs') throw fail(`the '${key}' option is only allowed with tmpfs mounts`)
  }
  const bindOnly = (key: string) => {
    if (kind !== 'bind') throw fail(`the '${key}' option is not allowed with tmpfs mounts`)
  }

  for (const opt of options) {
    const eq = opt.indexOf('=')
    const key = eq === -1 ? opt : opt.slice(0, eq)
    if (result.overlay && (key === 'upperdir' || key === 'workdir')) {
      result.overlayOptions.push(opt)
      continue
    }
    switch (key) {
      case 'rw':
      case 'ro':
        once('rw', opt, "'rw' and 'ro'")
        break
      case 'exec':
      case 'noexec':
        once('exec', opt, "'exec' and 'noexec'")
        break
      case 'suid':
      case 'nosuid':
        once('suid', opt, "'suid' and 'nosuid'")
        break
      case 'dev':
      case 'nodev':
        once('dev', opt, "'dev' and 'nodev'")
        break
      case 'private':
      case 'rprivate':
      case 'slave':
      case 'rslave':
      case 'shared':
      case 'rshared':
      case 'unbindable':
      case 'runbindable':
        once('propagation', opt, 'the propagation modes')
        break
      case 'bind':
      case 'rbind':
        bindOnly(key)
        if (key === 'bind') recursive = false
        once('bind', opt, "'bind' and 'rbind'")
        break
      case 'z':
      case 'Z':
        bindOnly(key)
        if (seen.has('z')) throw fail("only one of 'z' and 'Z' can be used")
        seen.add('z')
        break
      case 'U':
        if (seen.has('U')) throw fail("the 'U' option can only be set once")
        seen.add('U')
        result.chown = true
        break
      case 'O':
        bindOnly(key)
        result.overlay = true
        break
      case 'copy':
      case 'nocopy':
      case 'consistency':
        break
      case 'size':
      case 'mode':
      case 'nr_inodes':
      case 'uid':
      case 'gid':
        tmpfsOnly(key)
        if (eq === -1 || opt.slice(eq + 1) === '') throw fail(`the '${key}' option needs a value, e.g. ${key}=${key === 'mode' ? '1777' : key === 'size' ? '64m' : '1000'}`)
        if (key === 'mode' && !/^[0-7]{1,4}$/.test(opt.slice(eq + 1))) throw fail(`mode must be octal, e.g. mode=1777`)
        once(key, opt, `one tmpfs ${key}`)
        break
      case 'tmpcopyup':
      case 'notmpcopyup':
        tmpfsOnly(key)
        if (seen.has('copyup')) throw fail("the 'tmpcopyup' or 'notmpcopyup' option can only be set once")
        seen.add('copyup')
        // notmpcopyup only suppresses the default; runtimes do not know it.
        if (key === 'tmpcopyup') out.push(opt)
        break
      case 'noatime':
        tmpfsOnly(key)
        out.push(opt)
        break
      case 'idmap':
        throw fail("the 'idmap' option is not supported: rootless, the kernel refuses idmapped mounts")
      default:
        throw fail(`unknown mount option "${opt}"`, `accepted: ro, rw, z, Z, U, O, [no]exec, [no]suid, [no]dev, bind, rbind, ${PROPAGATION.join(', ')}${kind === 'tmpfs' ? ', size=, mode=, tmpcopyup, notmpcopyup' : ''}`)
    }
  }

  if (!seen.has('rw')) out.push('rw')
  if (!seen.has('propagation')) out.push(recursive ? 'rprivate' : 'private')
  const defaults = kind === 'tmpfs' ? {nosuid: true, nodev: true, noexec: false} : context.sourceFlags ?? {nosuid: false, nodev: false, noexec: false}
  if (!seen.has('exec') && defaults.noexec) out.push('noexec')
  if (!seen.has('suid') && defaults.nosuid) out.push('nosuid')
  if (!seen.has('dev') && defaults.nodev) out.push('nodev')
  if (kind === 'tmpfs' && !seen.has('copyup')) out.push('tmpcopyup')
  if (kind === 'bind' && !seen.has('bind')) out.push('rbind')
  return result
}

function depth(destination: string): number {
  return destination.split('/').filter(Boolean).length
}

/**
 * Parents before children, as Podman sorts: by the number of path
 * components, keeping the given order among equals.
 */
export function sortMounts<T extends {destination: string}>(mounts: T[]): T[] {
  return mounts
    .map((m, i) => ({m, i, d: depth(m.destination)}))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map(x => x.m)
}

// ---- devices ----

export interface OciDevice {
  path: string
  type: 'c' | 'b'
  major: number
  minor: number
  fileMode?: number
  uid?: number
  gid?: number
}

export interface OciDeviceRule {
  allow: boolean
  type?: string
  major?: number
  minor?: number
  access?: string
}

interface HostDevice {
  path: string
  type: 'c' | 'b'
  major: number
  minor: number
  mode: number
  uid: number
  gid: number
}

function deviceAt(path: string): HostDevice | undefined {
  let st: BigIntStats | undefined
  try {
    st = statSync(path, {bigint: true, throwIfNoEntry: false})
  } catch {
    return undefined
  }
  if (st === undefined || (!st.isCharacterDevice() && !st.isBlockDevice())) return undefined
  const rdev = st.rdev
  // glibc's gnu_dev_major/minor: the 12+20-bit split of dev_t.
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
  return {path, type: st.isCharacterDevice() ? 'c' : 'b', major, minor, mode: Number(st.mode & 0o777n), uid: Number(st.uid), gid: Number(st.gid)}
}

const SKIPPED_DEV_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev'])

/** Every device node under dir, as Podman lists them for --privileged. */
function listDevices(dir: string, top: boolean): HostDevice[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const out: HostDevice[] = []
  for (const name of names) {
    const path = `${dir}/${name}`
    // lstat: links such as /dev/stdin lead elsewhere and are not devices of their own.
    const st = lstatSync(path, {throwIfNoEntry: false})
    if (st === undefined || st.isSymbolicLink()) continue
    if (st.isDirectory()) {
      if (!(top && SKIPPED_DEV_DIRS.has(name))) out.push(...listDevices(path, false))
      continue
    }
    const dev = deviceAt(path)
    if (dev !== undefined) out.push(dev)
  }
  return out
}

function requestedDevices(value: string): Array<{device: HostDevice; destination: string; permissions: string}> {
  const flag = parseDeviceFlag(value)
  let source: string
  try {
    source = realpathSync(flag.source)
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message
    throw new InvalidArgumentError(`--device ${value}: ${flag.source}: ${why}`, {hint: 'name a device node that exists on the host'})
  }
  if (statSync(source).isDirectory()) {
    const found = listDevices(source, false)
    if (found.length === 0) throw new InvalidArgumentError(`--device ${value}: no devices found in ${flag.source}`)
    return found.map(device => ({device, destination: flag.destination + device.path.slice(source.length), permissions: flag.permissions}))
  }
  const device = deviceAt(source)
  if (device === undefined) throw new InvalidArgumentError(`--device ${value}: ${flag.source} is not a device node`)
  return [{device, destination: flag.destination, permissions: flag.permissions}]
}

// ---- the container's mounts ----

export interface VolumeRequest {
  source: string
  destination: string
  /** For overlays: `ro`/`rw` plus any upperdir=/workdir= given. */
  options: string[]
}

export interface MountPlan {
  rootless: boolean
  privileged: boolean
  readOnly: boolean
  /** With readOnly: /run, /tmp, /var/tmp as tmpfs (else /dev and /dev/shm are read-only too). */
  readOnlyTmpfs: boolean
  network: 'none' | 'host' | 'private'
  /** The spec has a user namespace of its own (keep-id, nomap). */
  newUserns: boolean
  cgroupVersion: 'v1' | 'v2'
  /** /sys/fs/cgroup writable (cgroup v2 with --privileged or unmasked). */
  cgroupWritable: boolean
  /** gid 5 (tty) exists in the container, so devpts may use it. */
  ttyGroupMapped: boolean
  shmSize: number
  etcFiles: {hosts?: string; resolvConf?: string; hostname?: string; containerEnv?: string}
  /** The zoneinfo file for /etc/localtime. */
  localtime?: string
  /** The init binary for /run/podman-init. */
  initPath?: string
  tmpfs: string[]
  volumes: string[]
  mounts: string[]
  volumeMounts: VolumeRequest[]
  devices: string[]
  cwd: string
  mountFlags: (source: string) => SourceMountFlags
}

export interface MountResult {
  mounts: OciMount[]
  /** Root only: device nodes the runtime creates, and the cgroup rules allowing them. */
  devices: OciDevice[]
  deviceRules: OciDeviceRule[]
  overlayVolumes: VolumeRequest[]
  chownVolumes: VolumeRequest[]
  /** Rootless with the host's /sys bound in: /sys/kernel must be masked, as Podman does. */
  maskSysKernel: boolean
}

export const INIT_MOUNT = '/run/podman-init'

function sizeOption(bytes: number): string {
  return bytes % 1024 === 0 ? `size=${bytes / 1024}k` : `size=${bytes}`
}

/** The mounts every container gets, in Podman's order (sorted by depth later). */
function defaultMounts(plan: MountPlan): {mounts: OciMount[]; maskSysKernel: boolean} {
  const mounts: OciMount[] = []
  const readOnlyDev = plan.readOnly && !plan.readOnlyTmpfs ? ['ro'] : []
  mounts.push({destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev']})
  mounts.push({destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k', ...readOnlyDev]})
  mounts.push({
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(plan.ttyGroupMapped ? ['gid=5'] : [])],
  })
  mounts.push({destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']})
  // sysfs can only be mounted by the owner of the network namespace; otherwise bind the host's.
  const canMountSys = !(plan.network === 'host' && (plan.rootless || plan.newUserns))
  let maskSysKernel = false
  if (canMountSys) {
    mounts.push({
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: plan.privileged ? ['rprivate', 'nosuid', 'noexec', 'nodev', 'rw'] : ['nosuid', 'noexec', 'nodev', 'ro'],
    })
    // Podman mounts it rootless on cgroup v1 too: crun and runc then show the host's hierarchy read-only.
    mounts.push({
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', plan.cgroupWritable ? 'rw' : 'ro'],
    })
  } else {
    const mode = plan.privileged ? 'rw' : 'ro'
    mounts.push({destination: '/sys', type: 'bind', source: '/sys', options: ['rprivate', 'nosuid', 'noexec', 'nodev', mode, 'rbind']})
    mounts.push({destination: '/sys/fs/cgroup', type: 'bind', source: '/sys/fs/cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', mode, 'rbind']})
    maskSysKernel = plan.rootless && !plan.privileged
  }
  mounts.push({
    destination: '/dev/shm',
    type: 'tmpfs',
    source: 'shm',
    options: ['nosuid', 'noexec', 'nodev', 'mode=1777', ...(plan.shmSize > 0 ? [sizeOption(plan.shmSize)] : []), ...readOnlyDev],
  })
  const etcOptions = plan.readOnly ? ['bind', 'rprivate', 'ro', 'nosuid', 'noexec', 'nodev'] : ['bind', 'rprivate']
  const etc: Array<[string, string | undefined]> = [
    ['/etc/hosts', plan.etcFiles.hosts],
    ['/etc/resolv.conf', plan.etcFiles.resolvConf],
    ['/etc/hostname', plan.etcFiles.hostname],
    ['/run/.containerenv', plan.etcFiles.containerEnv],
  ]
  for (const [destination, source] of etc) {
    if (source !== undefined) mounts.push({destination, type: 'bind', source, options: [...etcOptions]})
  }
  if (plan.localtime !== undefined) {
    const flags = plan.mountFlags(plan.localtime)
    const locked = (['nosuid', 'nodev', 'noexec'] as const).filter(f => flags[f])
    mounts.push({destination: '/etc/localtime', type: 'bind', source: plan.localtime, options: ['bind', 'rprivate', 'ro', ...locked]})
  }
  if (plan.readOnly && plan.readOnlyTmpfs) {
    for (const destination of ['/run', '/tmp', '/var/tmp']) {
      mounts.push({destination, type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']})
    }
  }
  if (plan.initPath !== undefined) mounts.push({destination: INIT_MOUNT, type: 'bind', source: plan.initPath, options: ['bind', 'rprivate', 'ro']})
  return {mounts, maskSysKernel}
}

/**
 * All of a container's mounts: the defaults, then --tmpfs, -v, --mount,
 * resolved volumes and devices. A user mount replaces a default at the same
 * place, as in Podman; parents come before children.
 */
export function buildMounts(plan: MountPlan): MountResult {
  const {mounts: defaults, maskSysKernel} = defaultMounts(plan)
  const user: OciMount[] = []
  const result: MountResult = {mounts: [], devices: [], deviceRules: [], overlayVolumes: [], chownVolumes: [], maskSysKernel}
  const taken = (destination: string) =>
    user.some(m => m.destination === destination) || result.overlayVolumes.some(o => o.destination === destination)
  const add = (m: OciMount, flag: string, value: string) => {
    if (taken(m.destination)) {
      throw new InvalidArgumentError(`${flag} ${value}: duplicate mount destination ${m.destination}`, {hint: 'mount one thing per container path'})
    }
    user.push(m)
  }
  const addBind = (source: string, destination: string, opts: string[], flag: string, value: string) => {
    if (statSync(source, {throwIfNoEntry: false}) === undefined) {
      throw new InvalidArgumentError(`${flag} ${value}: statfs ${source}: no such file or directory`, {
        hint: `create ${source} first, or mount a named volume instead`,
      })
    }
    const processed = processMountOptions(opts, 'bind', {flag, value, sourceFlags: plan.mountFlags(source)})
    if (processed.chown) result.chownVolumes.push({source, destination, options: []})
    if (!processed.overlay) {
      add({destination, type: 'bind', source, options: processed.options}, flag, value)
      return
    }
    if (taken(destination)) throw new InvalidArgumentError(`${flag} ${value}: duplicate mount destination ${destination}`)
    result.overlayVolumes.push({source, destination, options: [processed.options.includes('ro') ? 'ro' : 'rw', ...processed.overlayOptions]})
  }
  const addTmpfs = (destination: string, opts: string[], flag: string, value: string) => {
    const processed = processMountOptions(opts, 'tmpfs', {flag, value})
    if (processed.chown) result.chownVolumes.push({source: 'tmpfs', destination, options: []})
    add({destination, type: 'tmpfs', source: 'tmpfs', options: processed.options}, flag, value)
  }

  for (const value of plan.tmpfs) {
    const t = parseTmpfsFlag(value)
    addTmpfs(t.destination, t.options, '--tmpfs', value)
  }
  // Named and anonymous volumes reach us resolved, in plan.volumeMounts.
  for (const value of plan.volumes) {
    const v = parseVolumeFlag(value, plan.cwd)
    if (v.kind === 'bind') addBind(v.source, v.destination, v.options, '-v', value)
  }
  for (const value of plan.mounts) {
    const m = parseMountFlag(value, plan.cwd)
    if (m.kind === 'bind') addBind(m.source, m.destination, m.options, '--mount', value)
    else if (m.kind === 'tmpfs') addTmpfs(m.destination, m.options, '--mount', value)
  }
  for (const v of plan.volumeMounts) addBind(v.source, v.destination, v.options, '-v', `${v.source}:${v.destination}`)

  // Rootless, mknod is not allowed: Podman binds the host's device nodes instead.
  const addDevice = (device: HostDevice, destination: string, permissions: string) => {
    if (plan.rootless) {
      user.push({destination, type: 'bind', source: device.path, options: ['slave', 'nosuid', 'noexec', permissions.includes('w') ? 'rw' : 'ro', 'rbind']})
      return
    }
    result.devices.push({path: destination, type: device.type, major: device.major, minor: device.minor, fileMode: device.mode, uid: device.uid, gid: device.gid})
    result.deviceRules.push({allow: true, type: device.type, major: device.major, minor: device.minor, access: permissions})
  }
  if (plan.privileged) {
    const mounted = new Set([...defaults, ...user].map(m => m.destination))
    for (const device of listDevices('/dev', true)) {
      const skip = mounted.has(device.path) || device.path === '/dev/ptmx' || device.path === '/dev/console' || device.path.startsWith('/dev/tty')
      if (!skip) addDevice(device, device.path, 'rwm')
    }
  }
  // --privileged has every device already; Podman ignores --device then.
  for (const value of plan.privileged ? [] : plan.devices) {
    for (const d of requestedDevices(value)) {
      if (taken(d.destination)) throw new InvalidArgumentError(`--device ${value}: duplicate mount destination ${d.destination}`)
      addDevice(d.device, d.destination, d.permissions)
    }
  }

  const replaced = new Set([...user.map(m => m.destination), ...result.overlayVolumes.map(o => o.destination)])
  result.mounts = sortMounts([...defaults.filter(m => !replaced.has(m.destination)), ...user])
  return result
}
