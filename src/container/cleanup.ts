/**
 * After a container exits: record the exit, apply the restart policy, and
 * remove an --rm container. The monitor runs `tspod container cleanup ID`
 * for this when tspod has something to do (no daemon waits for it).
 */
import {InvalidArgumentError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {debug} from '../util/log.js'
import {teardownContainerNetworks} from '../network/user-networks.js'
import {currentState, dropFromIndex, findContainer, isActive, readContainerIndex, readRecord, writeState} from './container-store.js'
import {removeContainer, removeContainerFiles, startContainer, sweepOrphanContainers} from './lifecycle.js'

export async function cleanupContainer(engine: Engine, id: string, options: {rm?: boolean} = {}): Promise<void> {
  // First, and even when an --rm container's files are gone already: the attachment lives under the run root.
  await teardownContainerNetworks(engine, id)
  if (!findContainer(engine.store, id)) return
  let record
  try {
    record = readRecord(engine.store, id)
  } catch {
    // The monitor removed an --rm container's files already: drop the entry.
    await dropFromIndex(engine.store, id)
    return
  }
  const state = currentState(engine.store, id)
  if (isActive(state)) return
  await writeState(engine.store, id, state)
  if (options.rm || record.autoRemove) {
    await dropFromIndex(engine.store, id)
    await removeContainerFiles(engine, id, record)
    await stopIdlePod(engine, record)
    return
  }
  const policy = record.restartPolicy
  const failed = (state.exitCode ?? 0) !== 0
  const restart =
    !state.stoppedByUser &&
    (policy.name === 'always' ||
      policy.name === 'unless-stopped' ||
      (policy.name === 'on-failure' && failed && (policy.maxRetries === 0 || state.restartCount < policy.maxRetries)))
  if (!restart) {
    await stopIdlePod(engine, record)
    return
  }
  debug(`restarting ${record.name} (policy ${policy.name}, restart ${state.restartCount + 1})`)
  await writeState(engine.store, id, {...state, restartCount: state.restartCount + 1})
  await startContainer(engine, record, {fromCleanup: true})
}

/** A pod created with --exit-policy=stop stops once its last member has exited. */
async function stopIdlePod(engine: Engine, record: {pod?: string; infra?: boolean}): Promise<void> {
  if (record.pod && !record.infra) await (await import('../pod/pods.js')).stopPodIfIdle(engine, record.pod)
}

export async function pruneContainers(engine: Engine, filters: string[]): Promise<string[]> {
  for (const f of filters) if (!/^(label|until)=/.test(f)) throw new InvalidArgumentError(`invalid container prune filter "${f}": use label= or until=`)
  const removed: string[] = []
  for (const entry of readContainerIndex(engine.store)) {
    const state = currentState(engine.store, entry.id)
    if (isActive(state)) continue
    let record
    try {
      record = readRecord(engine.store, entry.id)
    } catch {
      continue
    }
    // An infra container goes with its pod (pod prune), never on its own.
    if (record.infra) continue
    const ok = filters.every(f => {
      const [key, value] = [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]
      if (key === 'until') return Date.parse(record.created) < Date.parse(value)
      const j = value.indexOf('=')
      return j === -1 ? value in record.labels : record.labels[value.slice(0, j)] === value.slice(j + 1)
    })
    if (!ok) continue
    await removeContainer(engine, entry.id)
    removed.push(entry.id)
  }
  await sweepOrphanContainers(engine)
  return removed
}
