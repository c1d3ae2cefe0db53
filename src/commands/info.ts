import {Flags} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class Info extends TspodCommand {
  static override description = 'Display tspod related system information'
  static override aliases = ['system:info']
  static override flags = {
    format: Flags.string({char: 'f', description: 'Change the output format to JSON or a Go template'}),
  }
}
