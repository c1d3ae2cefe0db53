import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerInspect extends TspodCommand {
  static override description = 'Display the configuration of a container'
  static override strict = false
  static override args = {container: Args.string({description: 'container (more may follow)'})}
  static override flags = {
    format: Flags.string({char: 'f', description: 'Format the output to a Go template or json'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    size: Flags.boolean({char: 's', description: 'Display total file size'}),
  }
}
