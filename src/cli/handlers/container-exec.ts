import {readFileSync} from 'node:fs'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {latestContainer, lookupContainer, readRecord} from '../../container/container-store.js'
import {execInContainer} from '../../container/exec.js'
import {InvalidArgumentError, isErrno} from '../../errors/index.js'

/** --env-file entries, then -e: `K=V` as given; `K` and `K*` take the host's values. */
async function execEnvironment(ctx: CommandContext): Promise<string[]> {
  const files = flagList(ctx, 'env-file')
  const entries = flagList(ctx, 'env')
  if (files.length === 0 && entries.every(e => e.includes('='))) return entries
  // The env-file parser lives with the spec generator; only these rarer forms pay for loading it.
  const {parseEnvFile} = await import('../../runtime/spec.js')
  const out: string[] = []
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new InvalidArgumentError(`--env-file ${file}: ${isErrno(err, 'ENOENT') ? 'no such file or directory' : (err as Error).message}`, {hint: 'name an existing file of NAME=VALUE lines'})
    }
    out.push(...parseEnvFile(text, process.env, `--env-file ${file}`))
  }
  for (const entry of entries) out.push(...(entry.includes('=') ? [entry] : parseEnvFile(entry, process.env, `--env ${entry}`)))
  return out
}

export default async function containerExec(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const latest = flagBool(ctx, 'latest')
  const [ref, ...command] = latest ? ['', ...ctx.args] : ctx.args
  if (!latest && ref === undefined) {
    throw new InvalidArgumentError('exec requires the name or ID of a container or the --latest flag', {hint: `See '${ctx.commandLine} --help'`})
  }
  const entry = latest ? latestContainer(engine.store) : lookupContainer(engine.store, ref!)
  const record = readRecord(engine.store, entry.id)
  return execInContainer(engine, record, {
    command,
    tty: flagBool(ctx, 'tty'),
    interactive: flagBool(ctx, 'interactive'),
    detach: flagBool(ctx, 'detach'),
    env: await execEnvironment(ctx),
    user: flagString(ctx, 'user'),
    workdir: flagString(ctx, 'workdir'),
    privileged: flagBool(ctx, 'privileged'),
  })
}
