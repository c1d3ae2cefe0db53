import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {openSession} from '../attach-session.js'
import {containerPaths, currentState, latestContainer, lookupContainer, readExit, readRecord} from '../../container/container-store.js'
import {InvalidArgumentError, TspodError} from '../../errors/index.js'
import {attach} from '../../runtime/monitor-client.js'

export default async function containerAttach(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const latest = flagBool(ctx, 'latest')
  if (!latest && ctx.args.length === 0) throw new InvalidArgumentError('attach requires the name or ID of a container or the --latest flag', {hint: `See '${ctx.commandLine} --help'`})
  if (latest && ctx.args.length > 0) throw new InvalidArgumentError('--latest and containers cannot be used together')
  const entry = latest ? latestContainer(engine.store) : lookupContainer(engine.store, ctx.args[0]!)
  const record = readRecord(engine.store, entry.id)
  if (currentState(engine.store, entry.id).status !== 'running') {
    throw new TspodError('you can only attach to running containers', {hint: `Start it attached instead: tspod start -a ${record.name}`})
  }
  const paths = containerPaths(engine.store, entry.id)
  const session = openSession({
    socketPath: paths.attach,
    tty: record.tty,
    stdin: record.stdin && !flagBool(ctx, 'no-stdin'),
    detachKeys: flagString(ctx, 'detach-keys') ?? 'ctrl-p,ctrl-q',
    sigProxy: ctx.flags['sig-proxy'] !== false,
  })
  try {
    const {exitCode} = await attach(paths.attach, session.attach)
    if (session.detached()) return 0
    if (exitCode !== undefined) return exitCode
    const exit = readExit(paths.exitFile)
    if (exit) return exit.exitCode
    throw new TspodError(`container ${record.name}: the connection to its monitor ended without an exit code`, {hint: `See tspod logs ${record.name}`})
  } finally {
    session.close()
  }
}
