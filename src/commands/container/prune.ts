import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerPrune extends TspodCommand {
  static override description = 'Remove all non running containers'
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation. The default is false'}),
    filter: Flags.string({multiple: true, description: 'Provide filter values (e.g. label=<key>=<value>)'}),
  }
}
