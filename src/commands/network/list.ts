import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkList extends TspodCommand {
  static override description = 'List networks'
  static override aliases = ['network:ls']
  static override flags = {
    filter: Flags.string({char: 'f', multiple: true, description: 'Provide filter values (name=, id=, driver=, label=, label!=, until=, dangling=)'}),
    format: Flags.string({description: 'Pretty-print networks to JSON or using a Go template'}),
    noheading: Flags.boolean({char: 'n', description: 'Do not print headers'}),
    'no-trunc': Flags.boolean({description: 'Do not truncate the network ID'}),
    quiet: Flags.boolean({char: 'q', description: 'Display only the network names'}),
  }
}
