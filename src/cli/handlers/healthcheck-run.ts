import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {findContainer, readRecord} from '../../container/container-store.js'
import {runHealthcheck} from '../../container/health.js'
import {NoSuchContainerError} from '../../errors/index.js'
import {appendContainerEvent} from '../../events/events.js'

/**
 * podman-healthcheck-run(1); also what the monitor runs on schedule. When the
 * container has just turned unhealthy, --health-on-failure's action follows.
 */
export default async function healthcheckRun(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const entry = findContainer(engine.store, ctx.args[0]!)
  if (!entry) {
    if (process.env.INVOCATION_ID !== undefined) await (await import('../../container/health.js')).stopHealthTimer(ctx.args[0]!)
    throw new NoSuchContainerError(ctx.args[0]!)
  }
  const record = readRecord(engine.store, entry.id)
  const {currentState, isActive} = await import('../../container/container-store.js')
  if (process.env.INVOCATION_ID !== undefined && !isActive(currentState(engine.store, record.id))) {
    // Run by its systemd timer after the container stopped: the timer ends itself.
    const {stopHealthTimer} = await import('../../container/health.js')
    await stopHealthTimer(record.id)
  }
  const report = await runHealthcheck(engine, record)
  appendContainerEvent(engine.store.runRoot, record, 'health_status', {health_status: report.status})
  if (report.action) {
    const lifecycle = await import('../../container/lifecycle.js')
    if (report.action === 'kill') await lifecycle.signalContainer(engine, record, 9)
    else if (report.action === 'stop') await lifecycle.stopContainer(engine, record.id)
    else if (report.action === 'restart') {
      await lifecycle.stopContainer(engine, record.id, undefined, {waitForMonitor: true})
      await lifecycle.startContainer(engine, readRecord(engine.store, record.id))
    }
  }
  if (report.status === 'healthy') return 0
  ctx.stdout.write(`${report.status}\n`)
  return 1
}
