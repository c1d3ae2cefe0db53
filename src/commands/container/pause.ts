import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerPause extends TspodCommand {
  static override description = 'Pause all the processes in one or more containers'
  static override aliases = ['pause']
  static override strict = false
  static override args = {container: Args.string({description: 'container to pause (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Pause all running containers'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    cidfile: Flags.string({multiple: true, description: 'Read the container ID from the file'}),
  }
}
