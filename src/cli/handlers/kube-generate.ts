import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {generateKube} from '../../kube/generate.js'
import type {WorkloadKind} from '../../kube/types.js'
import {writeFileAtomic} from '../../util/atomic.js'
import {warn} from '../../util/log.js'

declare const TSPOD_VERSION: string

/** podman-kube-generate(1). */
export default async function kubeGenerate(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const type = (flagString(ctx, 'type') ?? 'pod') as WorkloadKind
  const replicasText = flagString(ctx, 'replicas')
  if (replicasText !== undefined && !/^\d+$/.test(replicasText)) throw new InvalidArgumentError(`invalid argument "${replicasText}" for "--replicas" flag: expected a whole number`)
  const file = flagString(ctx, 'filename')
  // Podman refuses to overwrite: a generated file is often edited by hand afterwards.
  if (file !== undefined && existsSync(file)) throw new InvalidArgumentError(`cannot write to ${JSON.stringify(file)}: file exists`, {hint: 'Give a new file name, or remove the old file first'})
  const {yaml, warnings} = generateKube(engine, ctx.args, {
    type,
    replicas: replicasText === undefined ? undefined : Number(replicasText),
    service: flagBool(ctx, 'service'),
    version: TSPOD_VERSION,
  })
  for (const w of warnings) warn(w)
  if (file !== undefined) await writeFileAtomic(resolve(file), yaml)
  else ctx.stdout.write(yaml)
}
