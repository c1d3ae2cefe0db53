import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SecretList extends TspodCommand {
  static override description = 'List secrets'
  static override aliases = ['secret:ls']
  static override flags = {
    filter: Flags.string({char: 'f', multiple: true, description: 'Filter secret output (name=, id=, label=)'}),
    format: Flags.string({description: 'Format volume output using Go template'}),
    noheading: Flags.boolean({char: 'n', description: 'Do not print headers'}),
    quiet: Flags.boolean({char: 'q', description: 'Print secret IDs only'}),
  }
}
