import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerStart extends TspodCommand {
  static override description = 'Start one or more containers'
  static override aliases = ['start']
  static override strict = false
  static override args = {container: Args.string({description: 'container to start (more may follow)'})}
  static override flags = {
    attach: Flags.boolean({char: 'a', description: 'Attach container STDOUT/STDERR and forward signals'}),
    interactive: Flags.boolean({char: 'i', description: 'Make STDIN available to the contained process'}),
    all: Flags.boolean({description: 'Start all containers regardless of their state or configuration'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    'detach-keys': Flags.string({description: 'Select the key sequence for detaching a container'}),
    'sig-proxy': Flags.boolean({description: 'Proxy received signals to the process (default true if attaching, false otherwise)'}),
  }
}
