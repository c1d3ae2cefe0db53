import {existsSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import type {CommandTable} from '../command-spec.js'
import {createOptionsFrom} from '../container-options.js'
import {renderRows} from '../format.js'
import {autoUpdate, type CreateCommand} from '../../container/auto-update.js'
import type {ContainerRecord} from '../../container/container-store.js'
import {createContainer} from '../../container/create.js'
import {removeContainer, startContainer} from '../../container/lifecycle.js'
import type {Engine} from '../../engine/engine.js'
import {EXIT_ENGINE, InvalidArgumentError} from '../../errors/index.js'
import {warn} from '../../util/log.js'

/** run's flags, from the command table the dispatcher reads (dist/commands.json beside this bundle's dist/). */
function runSpec() {
  const table = JSON.parse(readFileSync(join(resolve(process.argv[1] ?? '', '..'), 'commands.json'), 'utf8')) as CommandTable
  return table.commands.find(c => c.id === 'container:run')!
}

/**
 * What a `--new` unit's ExecStart does, in this process: `tspod run -d` of the
 * create command, under the container's name, on the image auto-update chose
 * (never pulling again, which would undo a rollback).
 */
function recreateWith(ctx: CommandContext, engine: Engine) {
  return async (template: ContainerRecord, command: CreateCommand): Promise<ContainerRecord> => {
    const {flags, args} = command.parsed
    const runtime = typeof flags.runtime === 'string' ? flags.runtime : ctx.global.runtime
    const runCtx: CommandContext = {
      ...ctx,
      id: 'container:run',
      commandLine: 'tspod run',
      flags: {...flags, detach: true, name: template.name, pull: 'never'},
      args,
      argv: command.argv,
      global: {...ctx.global, runtime},
    }
    const options = createOptionsFrom(runCtx)
    const {record, warnings} = await createContainer(engine, {...options, removeExisting: id => removeContainer(engine, id, {force: true})})
    for (const w of warnings) warn(w)
    try {
      await startContainer(engine, record)
    } catch (err) {
      if (record.autoRemove) await removeContainer(engine, record.id, {force: true}).catch(() => {})
      throw err
    }
    return record
  }
}

/** podman-auto-update(1); without systemd, tspod restarts containers itself (see src/container/auto-update.ts). */
export default async function autoUpdateHandler(ctx: CommandContext): Promise<number> {
  const authfile = flagString(ctx, 'authfile')
  if (authfile !== undefined && !existsSync(authfile)) {
    throw new InvalidArgumentError(`credential file is not accessible: stat ${authfile}: no such file or directory`, {hint: 'Give an existing --authfile, or drop the flag to use the default'})
  }
  const tls = ctx.flags['tls-verify']
  const engine = await engineFor(ctx)
  const result = await autoUpdate(engine, {
    dryRun: ctx.flags['dry-run'] === true,
    rollback: ctx.flags.rollback !== false,
    authfile,
    tlsVerify: typeof tls === 'boolean' ? tls : undefined,
    runSpec: runSpec(),
    recreate: recreateWith(ctx, engine),
  })
  for (const line of result.rollbacks) warn(line)
  if (result.reports.length > 0) {
    ctx.stdout.write(renderRows(result.reports, {
      format: flagString(ctx, 'format'),
      defaultColumns: [
        {header: 'UNIT', field: 'Unit'},
        {header: 'CONTAINER', field: 'Container'},
        {header: 'IMAGE', field: 'Image'},
        {header: 'POLICY', field: 'Policy'},
        {header: 'UPDATED', field: 'Updated'},
      ],
    }))
  }
  for (const err of result.errors) {
    ctx.stderr.write(`Error: ${err.message}\n`)
    if (err.hint) ctx.stderr.write(`${err.hint}\n`)
  }
  return result.errors.length > 0 ? EXIT_ENGINE : 0
}
