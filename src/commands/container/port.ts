import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerPort extends TspodCommand {
  static override description = 'List port mappings or a specific mapping for the container'
  static override aliases = ['port']
  static override strict = false
  static override args = {container: Args.string({description: 'container'}), port: Args.string({description: 'private port[/proto]'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Display port information for all containers'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
  }
}
