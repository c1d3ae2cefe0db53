import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkExists extends TspodCommand {
  static override description = 'Check if a network exists (exit 0 if it does, 1 if not)'
  static override args = {network: Args.string({required: true, description: 'network name or ID'})}
}
