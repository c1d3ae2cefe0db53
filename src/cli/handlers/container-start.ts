import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {openSession} from '../attach-session.js'
import {resolveTargets} from '../container-targets.js'
import {containerPaths, currentState, dropFromIndex, isActive, readExit, readRecord} from '../../container/container-store.js'
import {startContainer} from '../../container/lifecycle.js'
import {InvalidArgumentError} from '../../errors/index.js'

export default async function containerStart(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const targets = resolveTargets(ctx, engine)
  const attach = flagBool(ctx, 'attach')
  if (attach && targets.length > 1) throw new InvalidArgumentError('you cannot start and attach multiple containers at once')
  let code = 0
  for (const t of targets) {
    if (!t.id) {
      ctx.stderr.write(`Error: ${t.error?.message}\n`)
      code = 125
      continue
    }
    const record = readRecord(engine.store, t.id)
    if (isActive(currentState(engine.store, t.id))) {
      // Podman prints the name of a container that is already running.
      ctx.stdout.write(`${t.ref}\n`)
      continue
    }
    if (!attach) {
      try {
        await startContainer(engine, record)
        ctx.stdout.write(`${t.ref}\n`)
      } catch (err) {
        ctx.stderr.write(`Error: ${(err as Error).message}\n`)
        code = (err as {exitCode?: number}).exitCode ?? 125
      }
      continue
    }
    const paths = containerPaths(engine.store, t.id)
    const session = openSession({
      socketPath: paths.attach,
      tty: record.tty,
      stdin: flagBool(ctx, 'interactive') && record.stdin,
      detachKeys: flagString(ctx, 'detach-keys') ?? 'ctrl-p,ctrl-q',
      sigProxy: ctx.flags['sig-proxy'] !== false,
    })
    try {
      const started = await startContainer(engine, record, {attach: session.attach, removeOnExit: record.autoRemove})
      const {exitCode} = await started.attached!
      if (session.detached()) return 0
      if (record.autoRemove) await dropFromIndex(engine.store, record.id)
      return exitCode ?? readExit(paths.exitFile)?.exitCode ?? 125
    } finally {
      session.close()
    }
  }
  return code
}
