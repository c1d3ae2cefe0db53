import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerList extends TspodCommand {
  static override description = 'List containers'
  static override aliases = ['ps', 'container:ls', 'container:ps']
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Show all the containers, default is only running containers'}),
    filter: Flags.string({char: 'f', multiple: true, description: 'Filter output based on conditions given (name=, status=, label=, ancestor=, id=, exited=)'}),
    format: Flags.string({description: 'Pretty-print containers to JSON or using a Go template'}),
    last: Flags.string({char: 'n', description: 'Print the n last created containers (all states)'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    noheading: Flags.boolean({description: 'Do not print headers'}),
    'no-trunc': Flags.boolean({description: 'Display the extended information'}),
    pod: Flags.boolean({char: 'p', description: 'Print the ID and name of the pod the containers are associated with'}),
    quiet: Flags.boolean({char: 'q', description: 'Print the numeric IDs of the containers only'}),
    size: Flags.boolean({char: 's', description: 'Display the total file sizes'}),
    sort: Flags.string({description: 'Sort output by: command, created, id, image, names, runningfor, size, status', default: 'created'}),
    namespace: Flags.boolean({description: 'Display namespace information'}),
  }
}
