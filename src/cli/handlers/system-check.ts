import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {checkStore} from '../../image/check.js'

export default async function systemCheck(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const repair = flagBool(ctx, 'repair')
  const report = await checkStore(engine.store, {repair, quick: flagBool(ctx, 'quick')})
  for (const p of report.problems) ctx.stdout.write(`Problem: ${p}\n`)
  for (const l of report.leftovers) ctx.stdout.write(`Leftover: ${l}\n`)
  if (report.problems.length === 0) {
    if (repair) for (const r of report.removed) ctx.stdout.write(`Removed: ${r}\n`)
    ctx.stdout.write('No problems found\n')
    return 0
  }
  if (repair) {
    for (const r of report.removed) ctx.stdout.write(`Removed: ${r}\n`)
    return 0
  }
  ctx.stderr.write(`Error: ${report.problems.length} problem(s) found in the store ${engine.store.graphRoot}\nRun: tspod system check --repair (it removes the damaged images and the leftovers listed above)\n`)
  return 1
}
