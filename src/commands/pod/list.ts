import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodList extends TspodCommand {
  static override description = 'List pods'
  static override aliases = ['pod:ps', 'pod:ls']
  static override flags = {
    'ctr-ids': Flags.boolean({description: 'Display the container IDs'}),
    'ctr-names': Flags.boolean({description: 'Display the container names'}),
    'ctr-status': Flags.boolean({description: 'Display the container statuses'}),
    filter: Flags.string({char: 'f', multiple: true, description: 'Filter output based on conditions given (name=, id=, label=, status=, ctr-names=, ctr-ids=, ctr-status=, ctr-number=)'}),
    format: Flags.string({description: 'Pretty-print pods to JSON or using a Go template'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
    noheading: Flags.boolean({description: 'Do not print headers'}),
    'no-trunc': Flags.boolean({description: 'Display the extended information'}),
    quiet: Flags.boolean({char: 'q', description: 'Print the numeric IDs of the pods only'}),
    sort: Flags.string({description: 'Sort output by created, id, name, number or status', default: 'created'}),
  }
}
