import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {stopPod} from '../../pod/pods.js'
import {actOnPods} from './pod-targets.js'

export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`invalid argument "${value}" for "-t, --time" flag: expected a whole number of seconds`)
  return Number(value)
}

export default async function podStop(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const timeout = parseTimeout(flagString(ctx, 'time'))
  return actOnPods(ctx, engine, 'stopping', pod => stopPod(engine, pod, timeout))
}
