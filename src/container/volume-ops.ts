/** Volume use cases: remove, prune, and which containers use a volume. */
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import {TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {runInNamespace} from '../rootless/ns-exec.js'
import {tempPathFor} from '../util/atomic.js'
import {readAllRecords} from './container-store.js'
import {removeContainer} from './lifecycle.js'
import {listVolumes, readVolume, volumesDir} from './volumes.js'
import {rename} from 'node:fs/promises'

export function containersUsing(engine: Engine, name: string): string[] {
  const out: string[] = []
  for (const record of readAllRecords(engine.store)) if (record.mounts.some(m => m.type === 'volume' && m.name === name)) out.push(record.id)
  return out
}

/** Remove a volume; its files may belong to container uids, so deletion runs in the namespace. */
export async function removeVolume(engine: Engine, name: string, options: {force: boolean}): Promise<void> {
  if (!readVolume(engine.store, name)) throw new TspodError(`no volume with name "${name}" found: no such volume`)
  const users = containersUsing(engine, name)
  if (users.length > 0) {
    if (!options.force) {
      throw new TspodError(`volume ${name} is being used by the following container(s): ${users.join(', ')}: volume is being used`, {hint: 'Remove the containers first, or use volume rm -f to remove them too'})
    }
    for (const id of users) await removeContainer(engine, id, {force: true})
  }
  const dir = join(volumesDir(engine.store), name)
  // Out of sight first (atomic), then the slow delete.
  const aside = tempPathFor(join(engine.store.graphRoot, 'trash', name))
  await rename(dir, aside)
  const result = await runInNamespace(engine.store.runRoot, ['rm', '-rf', aside])
  if (result.code !== 0) await rm(aside, {recursive: true, force: true})
}

export async function pruneVolumes(engine: Engine, filters: string[] = []): Promise<string[]> {
  const removed: string[] = []
  for (const volume of listVolumes(engine.store)) {
    if (!volumeMatches(volume.Labels, filters)) continue
    if (containersUsing(engine, volume.Name).length > 0) continue
    await removeVolume(engine, volume.Name, {force: false})
    removed.push(volume.Name)
  }
  return removed
}

export function volumeMatches(labels: Record<string, string>, filters: string[], name?: string): boolean {
  for (const f of filters) {
    const i = f.indexOf('=')
    const key = f.slice(0, i)
    const value = f.slice(i + 1)
    if (key === 'label') {
      const j = value.indexOf('=')
      if (j === -1 ? !(value in labels) : labels[value.slice(0, j)] !== value.slice(j + 1)) return false
    } else if (key === 'name') {
      if (name !== undefined && !name.includes(value)) return false
    } else if (key !== 'driver' || value !== 'local') {
      throw new TspodError(`invalid volume filter "${f}": use label=, name= or driver=local`)
    }
  }
  return true
}
