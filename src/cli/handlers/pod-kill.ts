import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {parseSignal} from '../../container/signals.js'
import {killPod} from '../../pod/pods.js'
import {actOnPods} from './pod-targets.js'

export default async function podKill(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const signal = parseSignal(flagString(ctx, 'signal') ?? 'KILL')
  return actOnPods(ctx, engine, 'signalling', pod => killPod(engine, pod, signal))
}
