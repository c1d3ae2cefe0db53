import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {pausePod} from '../../pod/pods.js'
import {actOnPods} from './pod-targets.js'

export default async function podUnpause(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return actOnPods(ctx, engine, 'unpausing', pod => pausePod(engine, pod, false))
}
