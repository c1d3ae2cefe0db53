import {spawn} from 'node:child_process'
import {constants} from 'node:os'
import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND} from '../../errors/index.js'

/** Runs inside tspod's user namespace (the dispatcher re-executed us there). */
export default async function unshare(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const [command, ...args] = ctx.args.length > 0 ? ctx.args : [process.env.SHELL || '/bin/sh']
  const env = {...process.env, CONTAINERS_GRAPHROOT: engine.store.graphRoot, CONTAINERS_RUNROOT: engine.store.runRoot}
  return new Promise(resolve => {
    const child = spawn(command, args, {stdio: 'inherit', env})
    child.once('error', err => {
      const code = (err as NodeJS.ErrnoException).code
      ctx.stderr.write(`Error: ${command}: ${code === 'ENOENT' ? 'executable file not found in $PATH' : err.message}\n`)
      resolve(code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE)
    })
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)))
  })
}
