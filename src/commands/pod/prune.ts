import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodPrune extends TspodCommand {
  static override description = 'Remove all stopped pods and their containers'
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }
}
