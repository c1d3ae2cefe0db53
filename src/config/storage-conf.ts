/**
 * containers-storage.conf(5). Unlike containers.conf, exactly one file is
 * read, never merged: CONTAINERS_STORAGE_CONF if set; else for a rootless user
 * $XDG_CONFIG_HOME/containers/storage.conf if it exists; else the system file
 * (/etc/containers/storage.conf, falling back to /usr/share/containers/).
 *
 * What applies to tspod: the driver (for a rootless user reading the system
 * file, only a driver usable rootless, as Podman does) and the overlay options
 * (mount_program, mountopt, ignore_chown_errors).
 *
 * What does not: [storage] graphroot, runroot and rootless_storage_path. They
 * name containers/storage's store, whose on-disk format tspod does not share;
 * pointing tspod there would put two formats in one tree, and
 * `podman system reset` would delete tspod's images with Podman's. That holds
 * for a file named by CONTAINERS_STORAGE_CONF too, since the same variable
 * steers Podman in that shell. tspod's own paths come from, in order: the
 * --root/--runroot options, a [tspod] table (graphroot, runroot) in whichever
 * storage.conf is read, then tspod's defaults ($XDG_DATA_HOME/tspod and
 * $XDG_RUNTIME_DIR/tspod; /var/lib/tspod and /run/tspod as root).
 */
import {findStorageConf, storePathsFrom, type HostPaths, type StorePaths} from './paths.js'
import {readTomlFile, tableAt, typeError, type TomlTable, type TomlValue} from './toml-file.js'

/** Drivers a rootless user may take over from the system file (containers-storage.conf(5)). */
const ROOTLESS_DRIVERS = new Set(['overlay', 'vfs', 'btrfs'])

export interface StorageConfig extends StorePaths {
  /** Unset means: the storage module detects the best one. */
  driver?: string
  /** Where the driver was chosen, for messages: a file, --storage-driver or STORAGE_DRIVER. */
  driverFrom?: string
  /** fuse-overlayfs or another program that mounts overlays for us. */
  mountProgram?: string
  /** Extra overlay mount options, e.g. `nodev`. */
  mountOptions: string[]
  ignoreChownErrors: boolean
  /** The storage.conf read, if any. */
  file?: string
}

export interface StorageOverrides {
  root?: string
  runroot?: string
  storageDriver?: string
}

export function loadStorageConf(paths: HostPaths, overrides: StorageOverrides = {}, filesRead: string[] = []): StorageConfig {
  const found = findStorageConf(paths)
  const table = found ? readTomlFile(found.path, found.via ? {via: found.via} : undefined) : undefined
  const file = table && found ? found.path : ''
  if (file) filesRead.push(file)
  const storage = table ? tableAt(table, 'storage', file) : {}
  const options = tableAt(storage, 'options', file, '[storage] ')
  const overlay = tableAt(options, 'overlay', file, '[storage.options] ')

  const config: StorageConfig = {
    ...storePathsFrom(paths, table, file, overrides),
    mountOptions: [],
    ignoreChownErrors: false,
  }
  const fromFile = stringAt(storage, 'driver', file, '[storage] ')
  if (overrides.storageDriver) {
    config.driver = overrides.storageDriver
    config.driverFrom = '--storage-driver'
  } else if (paths.env.STORAGE_DRIVER) {
    config.driver = paths.env.STORAGE_DRIVER
    config.driverFrom = 'STORAGE_DRIVER'
  } else if (fromFile && !(found?.system && paths.rootless && !ROOTLESS_DRIVERS.has(fromFile))) {
    config.driver = fromFile
    config.driverFrom = file
  }
  const mountProgram = stringAt(overlay, 'mount_program', file, '[storage.options.overlay] ') ?? stringAt(options, 'mount_program', file, '[storage.options] ')
  if (mountProgram) config.mountProgram = mountProgram
  const mountopt = stringAt(overlay, 'mountopt', file, '[storage.options.overlay] ') ?? stringAt(options, 'mountopt', file, '[storage.options] ')
  if (mountopt) config.mountOptions = mountopt.split(',').map(o => o.trim()).filter(o => o !== '')
  const ignoreChown = flagAt(overlay, 'ignore_chown_errors', file, '[storage.options.overlay] ') ?? flagAt(options, 'ignore_chown_errors', file, '[storage.options] ')
  if (ignoreChown !== undefined) config.ignoreChownErrors = ignoreChown
  if (file) config.file = file
  return config
}

function stringAt(table: TomlTable, key: string, file: string, where: string): string | undefined {
  const value = table[key]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string') throw typeError(file, `${where}${key}`, 'a string', value)
  return value
}

/** containers/storage writes this flag as a string ("true"); accept a boolean too. */
function flagAt(table: TomlTable, key: string, file: string, where: string): boolean | undefined {
  const value: TomlValue | undefined = table[key]
  if (value === undefined || value === '') return undefined
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === 'false') return value === 'true'
  throw typeError(file, `${where}${key}`, 'true or false', value)
}
