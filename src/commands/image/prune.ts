import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImagePrune extends TspodCommand {
  static override description = 'Remove unused images'
  static override needsUserNamespace = true
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all images not in use by containers, not just dangling ones'}),
    filter: Flags.string({multiple: true, description: 'Provide filter values (e.g. label=<key>=<value>)'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }
}
