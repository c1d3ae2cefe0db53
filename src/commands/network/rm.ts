import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkRm extends TspodCommand {
  static override description = 'Remove one or more networks'
  static override aliases = ['network:remove']
  static override strict = false
  static override args = {network: Args.string({required: true, description: 'network name or ID (more may follow)'})}
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'Remove any containers using the network as well'}),
    time: Flags.string({char: 't', description: 'Seconds to wait for running containers to stop before killing them'}),
  }
}
