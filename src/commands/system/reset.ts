import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SystemReset extends TspodCommand {
  static override description = 'Reset tspod storage: remove all images, containers, volumes and state'
  static override needsUserNamespace = true
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }
}
