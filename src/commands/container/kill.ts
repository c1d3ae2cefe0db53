import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerKill extends TspodCommand {
  static override description = 'Kill one or more running containers with a specific signal'
  static override aliases = ['kill']
  static override strict = false
  static override args = {container: Args.string({description: 'container to kill (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Signal all running containers'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    signal: Flags.string({char: 's', description: 'Signal to send to the container', default: 'KILL'}),
    cidfile: Flags.string({multiple: true, description: 'Read the container ID from the file'}),
  }
}
