/** Which containers a command acts on: its arguments, --all, --latest or --cidfile. */
import {readFileSync} from 'node:fs'
import type {CommandContext} from './context.js'
import {flagBool, flagList} from './context.js'
import type {Engine} from '../engine/engine.js'
import {findContainer, latestContainer, readContainerIndex} from '../container/container-store.js'
import {InvalidArgumentError, NoSuchContainerError, isErrno} from '../errors/index.js'

export interface Target {
  /** What the user typed (printed back on success, as Podman does). */
  ref: string
  id?: string
  error?: Error
}

export function resolveTargets(ctx: CommandContext, engine: Engine, options: {allowNone?: boolean} = {}): Target[] {
  const refs = [...ctx.args]
  for (const file of flagList(ctx, 'cidfile')) {
    try {
      refs.push(readFileSync(file, 'utf8').trim())
    } catch (err) {
      // rm --ignore --cidfile: a unit's ExecStopPost runs after ExecStop removed the container and its file.
      if (isErrno(err, 'ENOENT') && flagBool(ctx, 'ignore')) continue
      throw new InvalidArgumentError(`reading CIDFile ${file}: ${(err as Error).message}`)
    }
  }
  if (refs.length === 0 && flagList(ctx, 'cidfile').length > 0 && flagBool(ctx, 'ignore')) return []
  if (flagBool(ctx, 'all')) {
    if (refs.length > 0) throw new InvalidArgumentError('--all and giving a container name or ID are mutually exclusive')
    return readContainerIndex(engine.store).map(e => ({ref: e.id, id: e.id}))
  }
  if (flagBool(ctx, 'latest')) {
    const e = latestContainer(engine.store)
    return [{ref: e.id, id: e.id}]
  }
  if (refs.length === 0 && !options.allowNone) throw new InvalidArgumentError(`you must provide at least one container name or ID`, {hint: `See '${ctx.commandLine} --help'`})
  return refs.map(ref => {
    try {
      const e = findContainer(engine.store, ref)
      return e ? {ref, id: e.id} : {ref, error: new NoSuchContainerError(ref)}
    } catch (err) {
      return {ref, error: err as Error}
    }
  })
}
