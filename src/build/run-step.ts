/**
 * RUN: the command runs as a container of the step's parent image, created,
 * started and monitored exactly as `tspod run` does it (container/create.ts,
 * container/lifecycle.ts, the C monitor), attached so its output reaches the
 * build's stdout and stderr. When it exits 0 the caller packs the overlay
 * upper directory as the step's layer; whatever happens, the container and
 * its mount are removed before this returns, and the abort registry removes
 * them when the build is interrupted meanwhile.
 */
import {chmodSync, chownSync, closeSync, lstatSync, mkdirSync, openSync, rmdirSync, unlinkSync, utimesSync} from 'node:fs'
import {join} from 'node:path'
import type {Writable} from 'node:stream'
import type {Engine} from '../engine/engine.js'
import {containerPaths, type ContainerRecord} from '../container/container-store.js'
import {createContainer} from '../container/create.js'
import {removeContainer, startContainer, waitForExit} from '../container/lifecycle.js'
import {removeVolume} from '../container/volume-ops.js'
import type {ContainerOptions} from '../runtime/spec.js'
import {debug} from '../util/log.js'
import type {AbortRegistry} from './abort.js'

export interface RunStepOptions {
  /** The parent image's ID. */
  image: string
  /** The process: shell form already wrapped in the SHELL. */
  argv: string[]
  /** Build arguments in scope that ENV does not override, as KEY=VALUE. */
  env: string[]
  network: 'none' | 'host' | 'private'
  /** `--mount` specifications for the runtime spec (bind, tmpfs). */
  mounts: string[]
  /**
   * Where RUN --mount mounts things (file: a file is bound there). Missing
   * ones are made, as buildah makes them, before the command runs, and
   * removed from the layer afterwards.
   */
  mountTargets: Array<{path: string; file: boolean; keep?: boolean}>
  /** The image's VOLUME paths: made as buildah makes them, and kept. */
  volumePaths: string[]
  /** --volume of the build. */
  volumes: string[]
  capAdd: string[]
  securityOpt: string[]
  stdout: Writable
  stderr: Writable
  abort: AbortRegistry
}

export interface RunStepResult<T> {
  exitCode: number
  /** What `onSuccess` returned when the command exited 0. */
  value?: T
}

/**
 * Run the step's command; when it exits 0, call onSuccess with the
 * container's upper directory (the files it changed) before the container
 * is removed.
 */
export async function runStep<T>(engine: Engine, options: RunStepOptions, onSuccess: (upperDir: string) => Promise<T>): Promise<RunStepResult<T>> {
  const spec: ContainerOptions = {
    command: options.argv,
    entrypoint: '',
    env: options.env,
    envFiles: [],
    envHost: false,
    httpProxy: true,
    groupAdd: [],
    tty: false,
    stdin: false,
    readOnly: false,
    capAdd: options.capAdd,
    capDrop: [],
    privileged: false,
    securityOpt: options.securityOpt,
    ulimits: [],
    tmpfs: [],
    volumes: options.volumes,
    mounts: options.mounts,
    devices: [],
    init: false,
    network: options.network,
    annotations: {},
    labels: {},
  }
  let record: ContainerRecord | undefined
  const remove = async (): Promise<void> => {
    if (!record) return
    const anonymous = record.mounts.filter(m => m.type === 'volume' && m.name && /^[a-f0-9]{64}$/.test(m.name))
    await removeContainer(engine, record.id, {force: true})
    record = undefined
    for (const volume of anonymous) await removeVolume(engine, volume.name!, {force: true}).catch(() => {})
  }
  const unregister = options.abort.add(remove)
  try {
    const created = await createContainer(engine, {
      image: options.image,
      replace: false,
      pull: 'never',
      rm: false,
      logDriver: 'none',
      logOpts: [],
      dns: [],
      addHosts: [],
      networkFlag: {kind: options.network === 'private' ? 'default' : options.network},
      spec,
      createCommand: ['tspod', 'build'],
    })
    record = created.record
    debug(`RUN container ${record.id.slice(0, 12)} created`)
    const upper = containerPaths(engine.store, record.id).diff
    for (const path of options.volumePaths) prepareTarget(engine, record.layers, upper, path, false)
    const made = options.mountTargets.map(t => ({made: prepareTarget(engine, record!.layers, upper, t.path, t.file), keep: t.keep === true}))
    const started = await startContainer(engine, record, {attach: {stdout: options.stdout, stderr: options.stderr, flowControl: true}})
    const {exitCode} = await started.attached!
    debug(`RUN container exited with ${exitCode}`)
    if (exitCode !== 0) return {exitCode: exitCode ?? 125}
    for (const {made: path, keep} of made.reverse()) if (path !== undefined && !keep) removeStandIn(join(upper, path))
    // The upper directory becomes the layer's files (renamed): the monitor must have unmounted the overlay first.
    await waitForExit(engine, record.id, {monitor: true, timeoutMs: 30_000})
    const value = await onSuccess(upper)
    return {exitCode: 0, value}
  } finally {
    unregister()
    await remove()
  }
}

type Found = {kind: 'dir'; mode: number; uid: number; gid: number; mtime: Date} | {kind: 'missing'} | {kind: 'other'}

/** What the image has at `rel`: the top layer holding it decides; a whiteout means nothing. */
function lookupInLayers(engine: Engine, layers: string[], rel: string): Found {
  for (let i = layers.length - 1; i >= 0; i--) {
    let stats
    try {
      stats = lstatSync(join(engine.store.layerDiffDir(layers[i]!), rel))
    } catch {
      continue
    }
    if (stats.isCharacterDevice() && stats.rdev === 0) return {kind: 'missing'}
    if (stats.isDirectory()) return {kind: 'dir', mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime}
    return {kind: 'other'}
  }
  return {kind: 'missing'}
}

/**
 * Make `path` (and its missing parents) in the container's upper directory
 * before it starts, so the runtime does not make them itself (crun makes
 * mount points with mode 1755): missing directories get 0755 and root, as
 * buildah gives them; parents the image has keep the image's attributes.
 * Returns the path relative to the root when the leaf was made here, for
 * removeStandIn; nothing is made through a symlink or a file.
 */
function prepareTarget(engine: Engine, layers: string[], upper: string, path: string, file: boolean): string | undefined {
  const parts = path.split('/').filter(p => p !== '' && p !== '.')
  if (parts.length === 0 || parts.includes('..')) return undefined
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join('/')
    const leaf = i === parts.length
    try {
      const existing = lstatSync(join(upper, rel))
      if (!existing.isDirectory()) return undefined
      continue
    } catch {
      // not in the upper directory yet
    }
    const found = lookupInLayers(engine, layers, rel)
    if (found.kind === 'other') return undefined
    if (found.kind === 'dir') {
      if (leaf) return undefined
      mkdirSync(join(upper, rel))
      chmodSync(join(upper, rel), found.mode)
      chownSync(join(upper, rel), found.uid, found.gid)
      utimesSync(join(upper, rel), found.mtime, found.mtime)
      continue
    }
    if (leaf && file) closeSync(openSync(join(upper, rel), 'wx'))
    else mkdirSync(join(upper, rel))
    chmodSync(join(upper, rel), 0o755)
    if (leaf) return rel
  }
  return undefined
}

/** Remove a mount point made by prepareTarget, if the command left it empty. */
function removeStandIn(path: string): void {
  try {
    const stats = lstatSync(path)
    if (stats.isDirectory()) rmdirSync(path)
    else if (stats.isFile() && stats.size === 0) unlinkSync(path)
  } catch {
    // gone, or not empty: what the command put there stays
  }
}
