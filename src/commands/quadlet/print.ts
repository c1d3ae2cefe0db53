import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class QuadletPrint extends TspodCommand {
  static override description = 'Print a Quadlet file, or with --unit the systemd unit it generates'
  static override args = {name: Args.string({required: true, description: 'Quadlet file name (web.container) or unit name (web.service)'})}
  static override flags = {
    unit: Flags.boolean({description: 'Print the generated unit instead of the Quadlet file'}),
  }
}
