import {createReadStream, statSync} from 'node:fs'
import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {InvalidArgumentError, isErrno} from '../../errors/index.js'
import {loadImages, loadImagesFromDirectory, type LoadReport} from '../../image/archive-load.js'
import {warn} from '../../util/log.js'
import {appendEvent} from '../../events/events.js'

/**
 * As podman-load(1) in Podman 4: a file, a layout directory or stdin (never a
 * terminal). `Loaded image:` lines are printed even with -q, which Podman
 * keeps for progress output that tspod does not have.
 */
export default async function imageLoad(ctx: CommandContext): Promise<void> {
  const input = flagString(ctx, 'input')
  const fromStdin = input === undefined || input === '-'
  if (fromStdin && process.stdin.isTTY) throw new InvalidArgumentError('cannot read from terminal, use command-line redirection or the --input flag')
  let isDirectory = false
  if (!fromStdin) {
    try {
      isDirectory = statSync(input).isDirectory()
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new InvalidArgumentError(`${input}: no such file or directory`)
      throw err
    }
  }
  const engine = await engineFor(ctx)
  const options = {rootless: engine.rootless, onWarning: warn}
  let report: LoadReport
  if (fromStdin) report = await loadImages(engine.store, process.stdin, options)
  else if (isDirectory) report = await loadImagesFromDirectory(engine.store, input, options)
  else report = await loadImages(engine.store, createReadStream(input), options)
  for (const [i, id] of report.ids.entries()) appendEvent(engine.store.runRoot, {ID: id, Name: report.names[i], Status: 'load', Type: 'image'})
  ctx.stdout.write(report.names.map(name => `Loaded image: ${name}\n`).join(''))
}
