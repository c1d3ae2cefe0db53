import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {resolveTargets} from '../container-targets.js'
import {readRecord} from '../../container/container-store.js'
import {listMountedContainers, unmountContainer} from '../../container/mount.js'
import {warn} from '../../util/log.js'

export default async function containerUnmount(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  // --all means the mounted ones; outside the namespace none are visible, so every container is tried.
  const all = flagBool(ctx, 'all')
  const targets = all && process.getuid?.() === 0
    ? listMountedContainers(engine).map(m => ({ref: m.id, id: m.id, error: undefined}))
    : resolveTargets(ctx, engine)
  let code = 0
  for (const t of targets) {
    try {
      if (!t.id) throw t.error
      const record = readRecord(engine.store, t.id)
      const result = await unmountContainer(engine, record)
      if (result === 'in-use') {
        if (!all) warn(`container ${record.name} is running: its root file system is in use by the container and stays mounted until it exits`)
        continue
      }
      if (result === 'unmounted' || !all) ctx.stdout.write(`${record.id}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = 125
    }
  }
  return code
}
