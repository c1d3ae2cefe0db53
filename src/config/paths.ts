/**
 * Where things live: the XDG base directories, the system configuration
 * directories Podman's tools share, and tspod's own store. Every root is
 * injectable so tests never touch the real /etc, /usr/share, /run or /var.
 */
import {chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {isAbsolute, join} from 'node:path'
import {ConfigError, RootlessSetupError, isErrno} from '../errors/index.js'
import {readTomlFile, tableAt, typeError, type TomlTable} from './toml-file.js'

export interface HostPathOptions {
  /**
   * The user's uid on the host; 0 means root, anything else rootless. Default:
   * the effective uid, or inside tspod's user namespace the host uid mapped
   * to root there.
   */
  uid?: number
  gid?: number
  /** The uid that owns the user's files as this process sees them; default the effective uid. */
  ownerUid?: number
  /** Environment to read XDG_*, HOME and CONTAINERS_* from; default process.env. */
  env?: NodeJS.ProcessEnv
  etcDir?: string
  usrShareDir?: string
  varDir?: string
  runDir?: string
  tmpDir?: string
}

export interface HostPaths {
  uid: number
  gid: number
  ownerUid: number
  rootless: boolean
  env: NodeJS.ProcessEnv
  home: string
  xdgConfigHome: string
  xdgDataHome: string
  xdgCacheHome: string
  etcDir: string
  /** `/etc/containers` */
  etcContainers: string
  /** `/usr/share/containers` */
  usrShareContainers: string
  /** `$XDG_CONFIG_HOME/containers` */
  userContainers: string
  varDir: string
  runDir: string
  tmpDir: string
  /** Set by resolveRuntimeDir once checked, so the check runs once. */
  runtimeDir?: string
}

export function resolveHostPaths(options: HostPathOptions = {}): HostPaths {
  const env = options.env ?? process.env
  const euid = process.geteuid?.() ?? 0
  // Inside tspod's user namespace we are root there but rootless on the host,
  // and paths named after the uid must match those the parent process chose.
  const inUserns = env.TSPOD_USERNS === '1'
  const uid = options.uid ?? (inUserns ? hostIdOfRoot('/proc/self/uid_map') : undefined) ?? euid
  const gid = options.gid ?? (inUserns ? hostIdOfRoot('/proc/self/gid_map') : undefined) ?? process.getegid?.() ?? 0
  const home = absoluteOr(env.HOME, homedir())
  const xdgConfigHome = absoluteOr(env.XDG_CONFIG_HOME, join(home, '.config'))
  const etcDir = options.etcDir ?? '/etc'
  return {
    uid,
    gid,
    ownerUid: options.ownerUid ?? options.uid ?? euid,
    rootless: uid !== 0 || inUserns,
    env,
    home,
    xdgConfigHome,
    xdgDataHome: absoluteOr(env.XDG_DATA_HOME, join(home, '.local', 'share')),
    xdgCacheHome: absoluteOr(env.XDG_CACHE_HOME, join(home, '.cache')),
    etcDir,
    etcContainers: join(etcDir, 'containers'),
    usrShareContainers: join(options.usrShareDir ?? '/usr/share', 'containers'),
    userContainers: join(xdgConfigHome, 'containers'),
    varDir: options.varDir ?? '/var',
    runDir: options.runDir ?? '/run',
    tmpDir: options.tmpDir ?? absoluteOr(env.TMPDIR, '/tmp'),
  }
}

/** The host id that a namespace's id map sends 0 to, from `/proc/self/uid_map`. */
function hostIdOfRoot(mapFile: string): number | undefined {
  try {
    for (const line of readFileSync(mapFile, 'utf8').split('\n')) {
      const [inside, outside] = line.trim().split(/\s+/)
      if (inside === '0' && outside !== undefined) return Number(outside)
    }
  } catch {
    // No procfs: fall back to the effective id.
  }
  return undefined
}

/** The XDG spec says relative values are to be ignored. */
function absoluteOr(value: string | undefined, fallback: string): string {
  return value !== undefined && isAbsolute(value) ? value : fallback
}

export interface StorePaths {
  /** tspod's store: images, layers, containers. */
  graphRoot: string
  /** tspod's volatile state: locks, pid files, mounts of running containers. */
  runRoot: string
}

export interface StorePathOptions extends HostPathOptions {
  /** --root */
  root?: string
  /** --runroot */
  runroot?: string
}

/**
 * tspod's store paths: --root/--runroot, else a [tspod] table in the
 * storage.conf that applies (see storage-conf.ts for why [storage] graphroot
 * does not), else $XDG_DATA_HOME/tspod and $XDG_RUNTIME_DIR/tspod
 * (/var/lib/tspod and /run/tspod as root). Cheap enough for the hot path:
 * the runtime directory is only checked when it is needed.
 */
export function resolveStorePaths(options: StorePathOptions = {}, paths: HostPaths = resolveHostPaths(options)): StorePaths {
  let table: TomlTable | undefined
  let file = ''
  if (!options.root || !options.runroot) {
    const found = findStorageConf(paths)
    if (found) {
      table = readTomlFile(found.path, found.via ? {via: found.via} : undefined)
      file = found.path
    }
  }
  return storePathsFrom(paths, table, file, options)
}

/** As resolveStorePaths, for a storage.conf its caller has read already. */
export function storePathsFrom(paths: HostPaths, storageConf: TomlTable | undefined, file: string, overrides: {root?: string; runroot?: string}): StorePaths {
  const tspod = storageConf ? tableAt(storageConf, 'tspod', file) : {}
  return {
    graphRoot: overrides.root || tspodPath(tspod, 'graphroot', file, paths) || defaultGraphRoot(paths),
    runRoot: overrides.runroot || tspodPath(tspod, 'runroot', file, paths) || join(resolveRuntimeDir(paths), 'tspod'),
  }
}

function defaultGraphRoot(paths: HostPaths): string {
  return paths.rootless ? join(paths.xdgDataHome, 'tspod') : join(paths.varDir, 'lib', 'tspod')
}

/** An absolute path after expanding $HOME and $UID, as storage.conf's rootless_storage_path allows. */
function tspodPath(table: TomlTable, key: string, file: string, paths: HostPaths): string | undefined {
  const raw = table[key]
  if (raw === undefined || raw === '') return undefined
  if (typeof raw !== 'string') throw typeError(file, `[tspod] ${key}`, 'a string', raw)
  const expanded = raw.replace(/\$(?:HOME\b|\{HOME\})/g, paths.home).replace(/\$(?:UID\b|\{UID\})/g, String(paths.uid))
  if (!isAbsolute(expanded)) {
    throw new ConfigError(`${file}: [tspod] ${key}: must be an absolute path, not ${JSON.stringify(raw)}`, {
      hint: `Use an absolute path (it may start with $HOME) for ${key} in ${file}.`,
    })
  }
  return expanded
}

/**
 * The one storage.conf that applies (containers-storage.conf(5)), or none:
 * CONTAINERS_STORAGE_CONF if set; else for a rootless user their own file if
 * it exists; else /etc/containers/storage.conf, else /usr/share/containers/.
 */
export function findStorageConf(paths: HostPaths): {path: string; via?: string; system: boolean} | undefined {
  const fromEnv = paths.env.CONTAINERS_STORAGE_CONF
  if (fromEnv) return {path: fromEnv, via: 'CONTAINERS_STORAGE_CONF', system: false}
  if (paths.rootless) {
    const user = join(paths.userContainers, 'storage.conf')
    if (existsSync(user)) return {path: user, system: false}
  }
  for (const path of [join(paths.etcContainers, 'storage.conf'), join(paths.usrShareContainers, 'storage.conf')]) {
    if (existsSync(path)) return {path, system: true}
  }
  return undefined
}

/**
 * The per-user runtime directory: `/run` for root; for a rootless user
 * $XDG_RUNTIME_DIR if set, which must then be a directory of ours that nobody
 * else can write; else, as Podman does, /run/user/UID if it is ours, else a
 * private directory under /tmp that we create and verify.
 */
export function resolveRuntimeDir(paths: HostPaths): string {
  if (paths.runtimeDir !== undefined) return paths.runtimeDir
  paths.runtimeDir = findRuntimeDir(paths)
  return paths.runtimeDir
}

function findRuntimeDir(paths: HostPaths): string {
  if (!paths.rootless) return paths.runDir
  const fromEnv = paths.env.XDG_RUNTIME_DIR
  if (fromEnv !== undefined && fromEnv !== '') {
    checkXdgRuntimeDir(fromEnv, paths)
    return fromEnv
  }
  const perUser = join(paths.runDir, 'user', String(paths.uid))
  try {
    const st = statSync(perUser)
    if (st.isDirectory() && st.uid === paths.ownerUid && (st.mode & 0o077) === 0) return perUser
  } catch {
    // Not there: the common case without a login session.
  }
  return ensurePrivateTmpDir(join(paths.tmpDir, `tspod-run-${paths.uid}`), paths)
}

function checkXdgRuntimeDir(dir: string, paths: HostPaths): void {
  const owner = `${paths.uid}:${paths.gid}`
  const fix = `mkdir -p -m 0700 ${dir} && chown ${owner} ${dir}`
  const unset = 'or unset XDG_RUNTIME_DIR to let tspod use a private directory under /tmp'
  let st
  try {
    st = statSync(dir)
  } catch (err) {
    const cause = isErrno(err, 'ENOENT') ? 'does not exist' : `cannot be read (${(err as NodeJS.ErrnoException).code})`
    throw new RootlessSetupError(`invalid XDG_RUNTIME_DIR: ${dir} ${cause}`, {
      hint: `As root run: ${fix}; ${unset}.`,
    })
  }
  if (!st.isDirectory()) {
    throw new RootlessSetupError(`invalid XDG_RUNTIME_DIR: ${dir} is not a directory`, {
      hint: `As root run: rm ${dir} && ${fix}; ${unset}.`,
    })
  }
  if (st.uid !== paths.ownerUid) {
    throw new RootlessSetupError(`invalid XDG_RUNTIME_DIR: ${dir} is owned by uid ${st.uid}, not by you (uid ${paths.uid})`, {
      hint: `As root run: chown ${owner} ${dir} && chmod 0700 ${dir}; ${unset}.`,
    })
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0')
    throw new RootlessSetupError(`invalid XDG_RUNTIME_DIR: ${dir} is writable by others (mode ${mode})`, {
      hint: `Run: chmod 0700 ${dir}; ${unset}.`,
    })
  }
}

/**
 * A directory in a world-writable place is only safe if we made it: refuse a
 * symlink or someone else's directory planted under our name.
 */
function ensurePrivateTmpDir(dir: string, paths: HostPaths): string {
  try {
    mkdirSync(dir, {mode: 0o700})
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) {
      throw new RootlessSetupError(`cannot create runtime directory ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
        hint: 'Set XDG_RUNTIME_DIR to a directory you own with mode 0700.',
      })
    }
  }
  const st = lstatSync(dir)
  if (!st.isDirectory() || st.uid !== paths.ownerUid) {
    const what = st.isSymbolicLink() ? 'is a symbolic link' : st.isDirectory() ? `is owned by uid ${st.uid}` : 'is not a directory'
    throw new RootlessSetupError(`refusing runtime directory ${dir}: it ${what}, not a directory of yours (uid ${paths.uid})`, {
      hint: `Remove it as root (rm -rf ${dir}), or set XDG_RUNTIME_DIR to a directory you own with mode 0700.`,
    })
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700)
  return dir
}

/** Podman's per-uid fallback for auth.json when XDG_RUNTIME_DIR is unset. */
export function defaultAuthFile(paths: HostPaths): string {
  const runtimeDir = paths.env.XDG_RUNTIME_DIR
  if (runtimeDir) return join(runtimeDir, 'containers', 'auth.json')
  return join(paths.runDir, 'containers', String(paths.uid), 'auth.json')
}

/**
 * containers-certs.d(5): where the CA and client certificates for one
 * registry may live, in the order Podman looks; the first that exists wins.
 */
export function certsDirs(paths: HostPaths, hostPort: string): string[] {
  return [
    join(paths.home, '.config', 'containers', 'certs.d', hostPort),
    join(paths.etcContainers, 'certs.d', hostPort),
    join(paths.etcDir, 'docker', 'certs.d', hostPort),
  ]
}
