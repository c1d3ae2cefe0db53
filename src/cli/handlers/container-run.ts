import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {openSession} from '../attach-session.js'
import {createOptionsFrom} from '../container-options.js'
import {containerPaths, dropFromIndex, readExit} from '../../container/container-store.js'
import {createContainer} from '../../container/create.js'
import {finishStart, launchContainer, removeContainer, startContainer, type PendingStart} from '../../container/lifecycle.js'
import {TspodError} from '../../errors/index.js'
import {debug, warn} from '../../util/log.js'

export default async function containerRun(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const options = createOptionsFrom(ctx)
  const detach = flagBool(ctx, 'detach')
  // The monitor starts setting the container up while create commits it.
  let pending: PendingStart | undefined
  const {record, warnings} = await createContainer(engine, {
    ...options,
    removeExisting: id => removeContainer(engine, id, {force: true}),
    launch: async created => (pending = await launchContainer(engine, created, {attached: !detach, removeOnExit: !detach && created.autoRemove, fresh: true})),
  })
  debug(`container ${record.id.slice(0, 12)} created`)
  for (const w of warnings) warn(w)
  if (detach) {
    try {
      if (pending) await finishStart(pending)
      else await startContainer(engine, record)
    } catch (err) {
      if (record.autoRemove) await removeContainer(engine, record.id, {force: true}).catch(() => {})
      throw err
    }
    ctx.stdout.write(record.id + '\n')
    return 0
  }
  const paths = containerPaths(engine.store, record.id)
  const session = openSession({
    socketPath: paths.attach,
    tty: record.tty,
    stdin: record.stdin,
    detachKeys: flagString(ctx, 'detach-keys') ?? 'ctrl-p,ctrl-q',
    sigProxy: ctx.flags['sig-proxy'] !== false,
  })
  try {
    let started
    try {
      started = pending ? await finishStart(pending, session.attach) : await startContainer(engine, record, {attach: session.attach, removeOnExit: record.autoRemove})
    } catch (err) {
      if (record.autoRemove) await removeContainer(engine, record.id, {force: true}).catch(() => {})
      throw err
    }
    // The exit code arrives before the monitor's cleanup (runtime delete,
    // unmount, --rm's removal); tspod need not wait for that cleanup: the
    // container is already out of the index for --rm, and the monitor
    // finishes on its own.
    const {exitCode} = await Promise.race([session.exited.then(code => ({exitCode: code as number | undefined})), started.attached!])
    debug(`container exited with ${exitCode}`)
    if (session.detached()) return 0
    if (record.autoRemove) await dropFromIndex(engine.store, record.id)
    if (exitCode !== undefined) return exitCode
    const exit = readExit(paths.exitFile)
    if (exit) return exit.exitCode
    throw new TspodError(`container ${record.name}: its monitor ended without reporting an exit code`, {hint: `See tspod logs ${record.name}`})
  } finally {
    session.close()
  }
}
