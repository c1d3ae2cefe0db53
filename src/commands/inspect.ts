import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class Inspect extends TspodCommand {
  static override description = 'Display the configuration of containers, images or volumes'
  static override strict = false
  static override args = {name: Args.string({description: 'container, image or volume (more may follow)'})}
  static override flags = {
    format: Flags.string({char: 'f', description: 'Format the output to a Go template or json'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    size: Flags.boolean({char: 's', description: 'Display total file size'}),
    type: Flags.string({char: 't', description: 'Specify inspect-object type', options: ['all', 'container', 'image', 'volume'], default: 'all'}),
  }
}
