import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {restartPod} from '../../pod/pods.js'
import {actOnPods} from './pod-targets.js'

export default async function podRestart(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  return actOnPods(ctx, engine, 'restarting', pod => restartPod(engine, pod))
}
