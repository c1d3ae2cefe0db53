import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class QuadletInstall extends TspodCommand {
  static override description = 'Install Quadlet files (or every Quadlet file of a directory) into the user\'s Quadlet directory, after checking that they generate units'
  static override strict = false
  static override args = {path: Args.string({required: true, description: 'Quadlet file or directory (more may follow)'})}
  static override flags = {
    replace: Flags.boolean({description: 'Replace files that are already installed'}),
  }
}
