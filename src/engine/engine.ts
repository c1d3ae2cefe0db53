/**
 * The engine context every handler that touches the store opens: the merged
 * configuration, the store and whether tspod runs rootless. Built once per
 * invocation, lazily, so commands that need neither pay nothing.
 */
import type {GlobalOptions} from '../cli/context.js'
import {loadConfig, type EngineConfig} from '../config/index.js'
import {chooseDriver, type DriverChoice} from '../storage/driver.js'
import {Store} from '../storage/store.js'

export interface Engine {
  config: EngineConfig
  store: Store
  driver: DriverChoice
  /** True when the invoking user is not root (inside tspod's user namespace too). */
  rootless: boolean
}

export function isRootless(): boolean {
  return process.env.TSPOD_USERNS === '1' || process.getuid?.() !== 0
}

export function openEngine(global: GlobalOptions): Engine {
  const config = loadConfig({root: global.root, runroot: global.runroot, storageDriver: global.storageDriver})
  const rootless = isRootless()
  const driver = chooseDriver({explicit: global.storageDriver ?? config.storage.driver, graphRoot: config.storage.graphRoot, rootless})
  const store = Store.open({graphRoot: config.storage.graphRoot, runRoot: config.storage.runRoot, driver: driver.driver})
  return {config, store, driver, rootless}
}
