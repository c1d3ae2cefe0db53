import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkReload extends TspodCommand {
  static override description = 'Set up the networks of running containers again (after a firewall reload, or to repair them)'
  static override strict = false
  static override args = {container: Args.string({description: 'container name or ID (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Reload the networks of all running containers'}),
  }
}
