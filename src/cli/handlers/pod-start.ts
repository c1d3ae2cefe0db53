import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {startPod} from '../../pod/pods.js'
import {actOnPods} from './pod-targets.js'

export default async function podStart(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return actOnPods(ctx, engine, 'starting', pod => startPod(engine, pod))
}
