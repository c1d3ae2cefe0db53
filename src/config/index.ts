/**
 * tspod's configuration: the files Podman reads, from the places it reads
 * them, with its precedence. loadConfig does no I/O itself; each section is
 * read on first use, so a command that needs only the store paths never
 * parses registries.conf.
 */
import {loadContainersConf, type ContainersConf} from './containers-conf.js'
import {resolveHostPaths, type HostPathOptions, type HostPaths} from './paths.js'
import {loadRegistriesConf, type RegistriesConfig} from './registries-conf.js'
import {loadStorageConf, type StorageConfig, type StorageOverrides} from './storage-conf.js'

export type {ContainersConf} from './containers-conf.js'
export type {HostPathOptions, HostPaths, StorePaths} from './paths.js'
export {resolveHostPaths, resolveRuntimeDir, resolveStorePaths} from './paths.js'
export type {RegistriesConfig, RegistryEntry, ShortNameMode} from './registries-conf.js'
export {findRegistry, pullSources, recordShortNameAlias} from './registries-conf.js'
export type {StorageConfig} from './storage-conf.js'
export type {AuthLookup} from './auth-files.js'
export {lookupAuth, primaryAuthFile} from './auth-files.js'

export interface LoadConfigOptions extends HostPathOptions, StorageOverrides {}

export interface EngineConfig {
  readonly paths: HostPaths
  readonly containers: ContainersConf
  readonly storage: StorageConfig
  readonly registries: RegistriesConfig
  /**
   * Every configuration file read, in order: containers.conf files, then
   * storage.conf, then registries.conf files. Reading it loads all sections.
   */
  readonly filesRead: string[]
}

export function loadConfig(options: LoadConfigOptions = {}): EngineConfig {
  const paths = resolveHostPaths(options)
  const read = {containers: [] as string[], storage: [] as string[], registries: [] as string[]}
  let containers: ContainersConf | undefined
  let storage: StorageConfig | undefined
  let registries: RegistriesConfig | undefined
  return {
    paths,
    get containers() {
      return (containers ??= loadContainersConf(paths, read.containers))
    },
    get storage() {
      return (storage ??= loadStorageConf(paths, options, read.storage))
    },
    get registries() {
      return (registries ??= loadRegistriesConf(paths, read.registries))
    },
    get filesRead() {
      void this.containers
      void this.storage
      void this.registries
      return [...read.containers, ...read.storage, ...read.registries]
    },
  }
}
