import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import type {CommandTable} from '../command-spec.js'
import {findContainer, readRecord, containerPaths} from '../../container/container-store.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {generateContainerUnit, generatePodUnits} from '../../systemd/generate.js'
import {tspodExecutable} from '../../systemd/quadlet-output.js'
import {writeFileAtomic} from '../../util/atomic.js'

declare const TSPOD_VERSION: string

function seconds(ctx: CommandContext, name: string): number | undefined {
  const v = flagString(ctx, name)
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`invalid argument "${v}" for "--${name}" flag: expected whole seconds`)
  return Number(v)
}

/** A command's flags, from the command table the dispatcher reads (dist/commands.json beside this bundle's dist/). */
function commandSpec(id: string) {
  const table = JSON.parse(readFileSync(join(resolve(process.argv[1] ?? '', '..'), 'commands.json'), 'utf8')) as CommandTable
  return table.commands.find(c => c.id === id)!
}

/** podman-generate-systemd(1) for a container, or a pod and its containers. */
export default async function generateSystemd(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const ref = ctx.args[0]!
  const globalArgs = [...(ctx.global.root ? ['--root', engine.store.graphRoot] : []), ...(ctx.global.runroot ? ['--runroot', engine.store.runRoot] : [])]
  const options = {
    tspod: tspodExecutable(),
    version: TSPOD_VERSION,
    useName: flagBool(ctx, 'name'),
    new: flagBool(ctx, 'new'),
    restartPolicy: flagString(ctx, 'restart-policy') ?? 'on-failure',
    restartSec: seconds(ctx, 'restart-sec'),
    stopTimeout: seconds(ctx, 'time') ?? seconds(ctx, 'stop-timeout') ?? 10,
    startTimeout: seconds(ctx, 'start-timeout'),
    containerPrefix: flagString(ctx, 'container-prefix') ?? 'container',
    separator: flagString(ctx, 'separator') ?? '-',
    noHeader: flagBool(ctx, 'no-header'),
    wants: flagList(ctx, 'wants'),
    after: flagList(ctx, 'after'),
    requires: flagList(ctx, 'requires'),
    env: flagList(ctx, 'env'),
    globalArgs,
    runSpec: commandSpec('container:run'),
  }
  const forUnit = (record: ReturnType<typeof readRecord>) => ({id: record.id, name: record.name, createCommand: record.createCommand, monitorPidFile: join(containerPaths(engine.store, record.id).userdata, 'monitor.pid')})
  let units: Array<{name: string; text: string}>
  const entry = findContainer(engine.store, ref)
  if (entry) {
    const record = readRecord(engine.store, entry.id)
    units = [generateContainerUnit(forUnit(record), {...options, stopTimeout: seconds(ctx, 'time') ?? seconds(ctx, 'stop-timeout') ?? record.stopTimeout})]
  } else {
    const {findPod, podContainers, readPod} = await import('../../pod/pod-store.js')
    const found = findPod(engine.store, ref)
    if (!found) throw new InvalidArgumentError(`${ref} does not refer to a container or pod: no such pod or container`, {hint: 'List them with `tspod ps -a` and `tspod pod ps`'})
    const pod = readPod(engine.store, found.id)
    const records = podContainers(engine.store, pod.id)
    const infra = records.find(r => r.infra)
    const members = records.filter(r => !r.infra)
    units = generatePodUnits(
      {id: pod.id, name: pod.name, createCommand: pod.createCommand, infra: infra ? forUnit(infra) : undefined},
      members.map(forUnit),
      {...options, podPrefix: flagString(ctx, 'pod-prefix') ?? 'pod', podCreateSpec: commandSpec('pod:create')},
    )
  }
  if (flagBool(ctx, 'files')) {
    for (const unit of units) {
      const path = resolve(unit.name)
      await writeFileAtomic(path, unit.text)
      ctx.stdout.write(path + '\n')
    }
  } else if (flagString(ctx, 'format') === 'json') {
    ctx.stdout.write(JSON.stringify(Object.fromEntries(units.map(u => [u.name.replace(/\.service$/, ''), u.text])), null, 4) + '\n')
  } else {
    ctx.stdout.write(units.map(u => u.text).join('\n'))
  }
}
