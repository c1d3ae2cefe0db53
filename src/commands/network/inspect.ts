import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkInspect extends TspodCommand {
  static override description = 'Display detailed information on one or more networks'
  static override strict = false
  static override args = {network: Args.string({required: true, description: 'network name or ID (more may follow)'})}
  static override flags = {
    format: Flags.string({char: 'f', description: 'Pretty-print network to JSON or using a Go template'}),
  }
}
