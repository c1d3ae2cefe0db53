import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import type {CommandTable} from '../command-spec.js'
import {findContainer, readRecord, containerPaths} from '../../container/container-store.js'
import {InvalidArgumentError, NoSuchContainerError} from '../../errors/index.js'
import {generateContainerUnit} from '../../systemd/generate.js'
import {tspodExecutable} from '../../systemd/quadlet-output.js'
import {writeFileAtomic} from '../../util/atomic.js'

declare const TSPOD_VERSION: string

function seconds(ctx: CommandContext, name: string): number | undefined {
  const v = flagString(ctx, name)
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`invalid argument "${v}" for "--${name}" flag: expected whole seconds`)
  return Number(v)
}

/** run's flags, from the command table the dispatcher reads (dist/commands.json beside this bundle's dist/). */
function runSpec() {
  const table = JSON.parse(readFileSync(join(resolve(process.argv[1] ?? '', '..'), 'commands.json'), 'utf8')) as CommandTable
  return table.commands.find(c => c.id === 'container:run')!
}

/** podman-generate-systemd(1) for containers. */
export default async function generateSystemd(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const ref = ctx.args[0]!
  const entry = findContainer(engine.store, ref)
  if (!entry) throw new NoSuchContainerError(ref)
  const record = readRecord(engine.store, entry.id)
  const globalArgs = [...(ctx.global.root ? ['--root', engine.store.graphRoot] : []), ...(ctx.global.runroot ? ['--runroot', engine.store.runRoot] : [])]
  const unit = generateContainerUnit(
    {id: record.id, name: record.name, createCommand: record.createCommand, monitorPidFile: join(containerPaths(engine.store, record.id).userdata, 'monitor.pid')},
    {
      tspod: tspodExecutable(),
      version: TSPOD_VERSION,
      useName: flagBool(ctx, 'name'),
      new: flagBool(ctx, 'new'),
      restartPolicy: flagString(ctx, 'restart-policy') ?? 'on-failure',
      restartSec: seconds(ctx, 'restart-sec'),
      stopTimeout: seconds(ctx, 'time') ?? seconds(ctx, 'stop-timeout') ?? record.stopTimeout,
      startTimeout: seconds(ctx, 'start-timeout'),
      containerPrefix: flagString(ctx, 'container-prefix') ?? 'container',
      separator: flagString(ctx, 'separator') ?? '-',
      noHeader: flagBool(ctx, 'no-header'),
      wants: flagList(ctx, 'wants'),
      after: flagList(ctx, 'after'),
      requires: flagList(ctx, 'requires'),
      env: flagList(ctx, 'env'),
      globalArgs,
      runSpec: runSpec(),
    },
  )
  if (flagBool(ctx, 'files')) {
    const path = resolve(unit.name)
    await writeFileAtomic(path, unit.text)
    ctx.stdout.write(path + '\n')
  } else if (flagString(ctx, 'format') === 'json') {
    ctx.stdout.write(JSON.stringify({[unit.name.replace(/\.service$/, '')]: unit.text}, null, 4) + '\n')
  } else {
    ctx.stdout.write(unit.text)
  }
}
