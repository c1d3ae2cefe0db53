import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkDisconnect extends TspodCommand {
  static override description = 'Disconnect a container from a network'
  static override args = {
    network: Args.string({required: true, description: 'network name or ID'}),
    container: Args.string({required: true, description: 'container name or ID'}),
  }
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'Force the container to disconnect from a network'}),
  }
}
