import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {pausePod} from '../../pod/pods.js'
import {actOnPods} from './pod-targets.js'

export default async function podPause(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return actOnPods(ctx, engine, 'pausing', pod => pausePod(engine, pod, true))
}
