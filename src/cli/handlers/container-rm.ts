import {engineFor} from '../engine.js'
import {readFileSync, rmSync} from 'node:fs'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {removeContainer, sweepOrphanContainers} from '../../container/lifecycle.js'
import {removeVolume} from '../../container/volume-ops.js'
import {findContainer, readRecord} from '../../container/container-store.js'
import {TspodError} from '../../errors/index.js'
import type {Store} from '../../storage/store.js'

function isInfra(store: Store, id: string): boolean {
  try {
    return readRecord(store, id).infra === true
  } catch {
    return false
  }
}

/** Exit codes as podman-rm(1): 1 when a container does not exist, 2 when one is running (without -f). */
export default async function containerRm(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const force = flagBool(ctx, 'force')
  const time = flagString(ctx, 'time')
  const all = resolveTargets(ctx, engine)
  // `rm -a` takes pods along, as Podman does: each infra container goes last, with its pod.
  const infra = flagBool(ctx, 'all') ? all.filter(t => t.id && isInfra(engine.store, t.id)) : []
  const targets = all.filter(t => !infra.includes(t))
  let code = 0
  await Promise.all(targets.map(async t => {
    if (!t.id) {
      if (flagBool(ctx, 'ignore')) return
      ctx.stderr.write(`Error: ${t.error?.message}\n`)
      code = Math.max(code, 1)
      return
    }
    try {
      const anonymous = flagBool(ctx, 'volumes') ? readRecord(engine.store, t.id).mounts.filter(m => m.type === 'volume' && m.name && /^[a-f0-9]{64}$/.test(m.name)) : []
      await removeContainer(engine, t.id, {force, timeoutSeconds: time === undefined ? undefined : Number(time)})
      for (const v of anonymous) await removeVolume(engine, v.name!, {force: false}).catch(() => {})
      ctx.stdout.write(`${t.ref}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = Math.max(code, /running or paused/.test((err as Error).message) ? 2 : 125)
    }
  }))
  for (const t of infra) {
    try {
      const {removePod} = await import('../../pod/pods.js')
      const {readPod} = await import('../../pod/pod-store.js')
      await removePod(engine, readPod(engine.store, readRecord(engine.store, t.id!).pod!), {force, timeoutSeconds: time === undefined ? undefined : Number(time)})
      ctx.stdout.write(`${t.ref}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = Math.max(code, err instanceof TspodError ? err.exitCode : 125)
    }
  }
  await sweepOrphanContainers(engine)
  // A --cidfile naming a container that is gone is removed, so the next `run --cidfile` of a systemd unit can write it again.
  for (const file of flagList(ctx, 'cidfile')) {
    let id: string
    try {
      id = readFileSync(file, 'utf8').trim()
    } catch {
      continue
    }
    if (!findContainer(engine.store, id)) rmSync(file, {force: true})
  }
  return code
}
