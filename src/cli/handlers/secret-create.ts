import {readFile} from 'node:fs/promises'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {InvalidArgumentError, isErrno} from '../../errors/index.js'
import {createSecret} from '../../secrets/secrets.js'
import {appendEvent} from '../../events/events.js'

function keyValues(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list) {
    const i = item.indexOf('=')
    if (i <= 0) throw new InvalidArgumentError(`invalid ${what} "${item}": expected KEY=VALUE`)
    out[item.slice(0, i)] = item.slice(i + 1)
  }
  return out
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** podman-secret-create(1): prints the new secret's ID. */
export default async function secretCreate(ctx: CommandContext): Promise<void> {
  const [name, source] = ctx.args as [string, string]
  let data: Buffer
  if (flagBool(ctx, 'env')) {
    const value = process.env[source]
    if (value === undefined) throw new InvalidArgumentError(`secret ${name}: environment variable ${source} is not set`, {hint: `export ${source} before running the command, or give a file`})
    data = Buffer.from(value)
  } else if (source === '-') {
    data = await readStdin()
  } else {
    try {
      data = await readFile(source)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new InvalidArgumentError(`secret ${name}: ${source}: no such file`, {hint: 'Give an existing file, - for standard input, or --env NAME'})
      if (isErrno(err, 'EISDIR')) throw new InvalidArgumentError(`secret ${name}: ${source} is a directory`, {hint: 'A secret is read from one file'})
      throw err
    }
  }
  const engine = await engineFor(ctx)
  const record = await createSecret(engine.store, name, data, {
    driver: flagString(ctx, 'driver'),
    driverOptions: keyValues(flagList(ctx, 'driver-opts'), 'driver option'),
    labels: keyValues(flagList(ctx, 'label'), 'label'),
    replace: flagBool(ctx, 'replace'),
  })
  appendEvent(engine.store.runRoot, {ID: record.ID, Name: name, Status: 'create', Type: 'secret'})
  ctx.stdout.write(record.ID + '\n')
}
