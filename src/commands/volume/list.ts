import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class VolumeList extends TspodCommand {
  static override description = 'List volumes'
  static override aliases = ['volume:ls']
  static override flags = {
    filter: Flags.string({char: 'f', multiple: true, description: 'Filter volume output (label=, name=, driver=)'}),
    format: Flags.string({description: 'Format volume output using Go template'}),
    noheading: Flags.boolean({char: 'n', description: 'Do not print headers'}),
    quiet: Flags.boolean({char: 'q', description: 'Print volume output in quiet mode'}),
  }
}
