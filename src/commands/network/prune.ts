import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkPrune extends TspodCommand {
  static override description = 'Remove all networks not used by at least one container'
  static override flags = {
    filter: Flags.string({multiple: true, description: 'Provide filter values (label=, label!=, until=)'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }
}
