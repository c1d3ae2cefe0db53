import {writeFile} from 'node:fs/promises'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {commitContainer, type ImageFormat} from '../../container/commit.js'
import {lookupContainer, readRecord} from '../../container/container-store.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {warn} from '../../util/log.js'

/** Runs inside tspod's user namespace (the dispatcher re-executed us there). */
export default async function containerCommit(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const quiet = flagBool(ctx, 'quiet')
  const record = readRecord(engine.store, lookupContainer(engine.store, ctx.args[0]!).id)
  const report = await commitContainer(engine, record, {
    reference: ctx.args[1],
    changes: flagList(ctx, 'change'),
    message: flagString(ctx, 'message'),
    author: flagString(ctx, 'author'),
    pause: flagBool(ctx, 'pause'),
    format: (flagString(ctx, 'format') ?? 'oci') as ImageFormat,
    squash: flagBool(ctx, 'squash'),
    // Podman writes progress to stderr, keeping stdout for the ID.
    onProgress: quiet ? undefined : line => ctx.stderr.write(`${line}\n`),
    onWarning: warn,
  })
  const iidfile = flagString(ctx, 'iidfile')
  if (iidfile !== undefined) {
    await writeFile(iidfile, `sha256:${report.id}`).catch(err => {
      throw new InvalidArgumentError(`writing the image ID to ${iidfile}: ${(err as Error).message}`)
    })
  }
  ctx.stdout.write(`${report.id}\n`)
}
