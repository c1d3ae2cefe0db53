import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerStop extends TspodCommand {
  static override description = 'Stop one or more containers'
  static override aliases = ['stop']
  static override strict = false
  static override args = {container: Args.string({description: 'container to stop (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Stop all running containers'}),
    ignore: Flags.boolean({char: 'i', description: 'Ignore errors when a specified container is missing'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    time: Flags.string({char: 't', description: 'Seconds to wait for stop before killing the container'}),
    cidfile: Flags.string({multiple: true, description: 'Read the container ID from the file'}),
  }
}
