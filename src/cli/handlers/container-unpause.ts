import type {CommandContext} from '../context.js'
import {changePauseState} from './container-pause.js'

export default function containerUnpause(ctx: CommandContext): Promise<number> {
  return changePauseState(ctx, 'unpause')
}
