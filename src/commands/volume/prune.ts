import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class VolumePrune extends TspodCommand {
  static override description = 'Remove all unused volumes'
  static override flags = {
    filter: Flags.string({multiple: true, description: 'Provide filter values (e.g. label=<key>=<value>)'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }
}
