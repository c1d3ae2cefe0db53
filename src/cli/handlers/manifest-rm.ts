import {engineFor, lookupOptions} from '../engine.js'
import type {CommandContext} from '../context.js'

/** podman-manifest-rm(1): Untagged/Deleted lines as rmi; exit 1 when a list is not found, 125 when a name is no list. */
export default async function manifestRm(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const {removeManifestLists} = await import('../../image/manifest-list.js')
  const report = await removeManifestLists(engine.store, ctx.args, lookupOptions(engine))
  for (const name of report.untagged) ctx.stdout.write(`Untagged: ${name}\n`)
  for (const id of report.deleted) ctx.stdout.write(`Deleted: ${id}\n`)
  let code = 0
  for (const {error, exitCode} of report.errors) {
    ctx.stderr.write(`Error: ${error.message}\n`)
    code = Math.max(code, exitCode)
  }
  return code
}
