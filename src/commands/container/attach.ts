import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerAttach extends TspodCommand {
  static override description = 'Attach to a running container'
  static override aliases = ['attach']
  static override args = {container: Args.string({description: 'container to attach to'})}
  static override flags = {
    'detach-keys': Flags.string({description: 'Select the key sequence for detaching a container'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    'no-stdin': Flags.boolean({description: 'Do not attach STDIN'}),
    'sig-proxy': Flags.boolean({description: 'Proxy received signals to the container process', default: true, allowNo: true}),
  }
}
