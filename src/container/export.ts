/**
 * `tspod export`: the container's whole root file system as one tar, from
 * its mounted overlay (mounted for the occasion when the container is not
 * running). Runs inside tspod's user namespace, so every file is readable
 * and keeps the owner the container sees.
 */
import {createWriteStream} from 'node:fs'
import {rename, rm} from 'node:fs/promises'
import type {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {StorageError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {packDirectory} from '../storage/layer-tar.js'
import {tempPathFor} from '../util/atomic.js'
import type {ContainerRecord} from './container-store.js'
import {withContainerRootfs} from './mount.js'

/** Write the tar to `out`, which stays open (it may be this process's stdout). */
export async function exportContainer(engine: Engine, record: ContainerRecord, out: Writable, onWarning?: (m: string) => void): Promise<void> {
  await withContainerRootfs(engine, record, root => pipeline(packDirectory(root, {onWarning}), out, {end: false}))
}

/** Export into a file: written beside it under a temporary name and renamed, so a failure leaves no half tar. */
export async function exportContainerToFile(engine: Engine, record: ContainerRecord, path: string, onWarning?: (m: string) => void): Promise<void> {
  const temp = tempPathFor(path)
  try {
    const file = createWriteStream(temp, {mode: 0o644})
    await withContainerRootfs(engine, record, root => pipeline(packDirectory(root, {onWarning}), file))
    await rename(temp, path)
  } catch (err) {
    await rm(temp, {force: true})
    if (err instanceof TspodError) throw err
    throw new StorageError(`exporting ${record.name} to ${path}: ${(err as Error).message}`)
  }
}
