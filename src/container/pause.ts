/**
 * `tspod pause` / `unpause` (and `commit --pause`): freezing a container
 * needs a cgroup of its own whose freezer the runtime can use. Rootless on
 * cgroup v1, or on v2 without delegated controllers, a container has none,
 * so tspod says so instead of calling a runtime that would fail obscurely.
 */
import {RuntimeError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {detectCgroups} from '../engine/host.js'
import {runInNamespace} from '../rootless/ns-exec.js'
import {currentState, readState, runtimeStateDir, writeState, type ContainerRecord} from './container-store.js'
import {appendContainerEvent} from '../events/events.js'

/** Why this host cannot pause tspod's containers, or undefined when it can. */
export function pauseUnsupportedReason(engine: Engine): string | undefined {
  if (!engine.rootless) return undefined
  const cgroups = detectCgroups()
  return cgroups.rootlessLimits ? undefined : cgroups.reason
}

export function pauseUnsupportedError(record: ContainerRecord, reason: string): TspodError {
  return new TspodError(`cannot pause container ${record.name}: it has no cgroup whose freezer could stop it (${reason})`, {
    hint: 'Rootless pausing needs cgroup v2 with controllers delegated to your user (systemd: Delegate=yes for user@.service); here, stop and start the container instead',
  })
}

async function runRuntime(engine: Engine, record: ContainerRecord, verb: 'pause' | 'resume'): Promise<void> {
  const result = await runInNamespace(engine.store.runRoot, [record.runtime.path, '--root', runtimeStateDir(engine.store), verb, record.id])
  if (result.code !== 0) {
    throw new RuntimeError(`${verb === 'pause' ? 'pausing' : 'unpausing'} ${record.name}: ${record.runtime.name}: ${result.stderr.trim().split('\n').pop() ?? `exit status ${result.code}`}`)
  }
}

export async function pauseContainer(engine: Engine, record: ContainerRecord): Promise<void> {
  const state = currentState(engine.store, record.id)
  if (state.status === 'paused') throw new TspodError(`"${record.name}" is already paused: container state improper`)
  if (state.status !== 'running') throw new TspodError(`"${record.name}" is not running, can't pause: container state improper`)
  const reason = pauseUnsupportedReason(engine)
  if (reason !== undefined) throw pauseUnsupportedError(record, reason)
  await runRuntime(engine, record, 'pause')
  await writeState(engine.store, record.id, {...readState(engine.store, record.id), status: 'paused'})
  appendContainerEvent(engine.store.runRoot, record, 'pause')
}

export async function unpauseContainer(engine: Engine, record: ContainerRecord): Promise<void> {
  if (currentState(engine.store, record.id).status !== 'paused') {
    throw new TspodError(`"${record.name}" is not paused, can't unpause: container state improper`)
  }
  await runRuntime(engine, record, 'resume')
  await writeState(engine.store, record.id, {...readState(engine.store, record.id), status: 'running'})
  appendContainerEvent(engine.store.runRoot, record, 'unpause')
}
