import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SystemCheck extends TspodCommand {
  static override description = 'Check storage consistency: every blob, layer and image record'
  static override needsUserNamespace = true
  static override flags = {
    repair: Flags.boolean({char: 'r', description: 'Remove what is damaged or incomplete, and say what was removed'}),
    quick: Flags.boolean({char: 'q', description: 'Skip the time-consuming digest checks of blobs'}),
  }
}
