import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class QuadletRm extends TspodCommand {
  static override description = 'Remove installed Quadlet files from the user\'s Quadlet directory'
  static override aliases = ['quadlet:remove']
  static override strict = false
  static override args = {name: Args.string({required: true, description: 'Quadlet file name, e.g. web.container (more may follow)'})}
  static override flags = {
    ignore: Flags.boolean({char: 'i', description: 'Do not fail when a file is not installed'}),
  }
}
