import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class VolumeExists extends TspodCommand {
  static override description = 'Check if a volume exists (exit 0 if it does, 1 if not)'
  static override args = {name: Args.string({required: true})}
}
