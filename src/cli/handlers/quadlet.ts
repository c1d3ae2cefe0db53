import {flagBool, type CommandContext} from '../context.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {generateQuadletUnits} from '../../systemd/quadlet.js'
import {collectQuadletSources, quadletSearchDirs} from '../../systemd/quadlet-files.js'
import {tspodExecutable, verifyUnits, writeGeneratedUnits} from '../../systemd/quadlet-output.js'

/**
 * `tspod quadlet --dryrun` prints every unit; `tspod quadlet DIR [EARLY LATE]`
 * is the systemd generator (see bin/tspod-user-generator). Problems are
 * reported as file:line on stderr and make the exit status 1; the units that
 * could be generated are still written, so one bad file stops only itself.
 */
export default async function quadlet(ctx: CommandContext): Promise<number> {
  const user = flagBool(ctx, 'user') || (process.getuid?.() ?? 0) !== 0
  const dryrun = flagBool(ctx, 'dryrun')
  if (!dryrun && ctx.args.length === 0) {
    throw new InvalidArgumentError('tspod quadlet needs --dryrun, or the output directory a systemd generator is given', {hint: 'Run `tspod quadlet --dryrun` to see the units, or install bin/tspod-user-generator as docs/systemd.md shows'})
  }
  const {units, errors} = generateQuadletUnits(collectQuadletSources(quadletSearchDirs(user)), {tspod: tspodExecutable()})
  for (const err of errors) ctx.stderr.write(`Error: ${err.message}${err.hint ? `\n${err.hint}` : ''}\n`)
  if (!dryrun) {
    await writeGeneratedUnits(units, ctx.args[0]!)
    return errors.length > 0 ? 1 : 0
  }
  for (const unit of units) ctx.stdout.write(`---${unit.name}---\n${unit.text}\n`)
  let problems = 0
  if (!flagBool(ctx, 'no-verify')) {
    const verified = await verifyUnits(units, user)
    for (const p of verified.problems) ctx.stderr.write(`Error: systemd-analyze verify: ${p}\n`)
    problems = verified.problems.length
  }
  return errors.length > 0 || problems > 0 ? 1 : 0
}
