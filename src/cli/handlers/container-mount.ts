import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {resolveTargets} from '../container-targets.js'
import {readRecord} from '../../container/container-store.js'
import {listMountedContainers, mountContainer} from '../../container/mount.js'
import {InvalidArgumentError, TspodError} from '../../errors/index.js'

/** Rootless, a mount exists only in tspod's namespace: it is useful only to a shell inside it. */
export default async function containerMount(ctx: CommandContext): Promise<number> {
  if (process.getuid?.() !== 0) {
    throw new TspodError('cannot run command "tspod mount" in rootless mode, must execute `tspod unshare` first', {
      hint: 'Run: tspod unshare, and tspod mount CONTAINER in the shell it opens (the mount is visible only there)',
    })
  }
  const engine = await engineFor(ctx)
  const format = flagString(ctx, 'format')
  if (format !== undefined && format.trim() !== 'json') throw new InvalidArgumentError(`invalid format "${format}": mount accepts json`)
  if (ctx.args.length === 0 && !flagBool(ctx, 'all') && !flagBool(ctx, 'latest')) {
    const mounted = listMountedContainers(engine)
    if (format !== undefined) {
      ctx.stdout.write(renderObject(mounted.map(m => ({ID: m.id, Names: [m.name], Mountpoint: m.path}))))
      return 0
    }
    const full = flagBool(ctx, 'no-trunc')
    ctx.stdout.write(mounted.map(m => `${full ? m.id : m.id.slice(0, 12)}  ${m.path}\n`).join(''))
    return 0
  }
  let code = 0
  for (const t of resolveTargets(ctx, engine)) {
    try {
      if (!t.id) throw t.error
      ctx.stdout.write(`${await mountContainer(engine, readRecord(engine.store, t.id))}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = 125
    }
  }
  return code
}
