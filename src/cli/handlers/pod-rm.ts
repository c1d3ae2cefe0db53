import {rmSync} from 'node:fs'
import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {sweepOrphanContainers} from '../../container/lifecycle.js'
import {removePod} from '../../pod/pods.js'
import {actOnPods} from './pod-targets.js'
import {parseTimeout} from './pod-stop.js'

/** Exit codes as podman-pod-rm(1): 1 for a pod that does not exist, 2 for one that runs (without -f). */
export default async function podRm(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const timeout = parseTimeout(flagString(ctx, 'time'))
  const code = await actOnPods(ctx, engine, 'removing', pod => removePod(engine, pod, {force: flagBool(ctx, 'force'), timeoutSeconds: timeout}), 1)
  await sweepOrphanContainers(engine)
  // As with --cidfile: a pod ID file naming a removed pod goes too, so a unit's next `pod create --pod-id-file` can write it.
  if (code === 0) for (const file of flagList(ctx, 'pod-id-file')) rmSync(file, {force: true})
  return code
}
