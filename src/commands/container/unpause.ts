import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerUnpause extends TspodCommand {
  static override description = 'Unpause the processes in one or more containers'
  static override aliases = ['unpause']
  static override strict = false
  static override args = {container: Args.string({description: 'container to unpause (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Unpause all paused containers'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    cidfile: Flags.string({multiple: true, description: 'Read the container ID from the file'}),
  }
}
