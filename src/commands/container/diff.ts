import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerDiff extends TspodCommand {
  static override description = "Inspect changes to a container's or an image's file systems"
  static override aliases = ['diff']
  static override needsUserNamespace = true
  static override args = {target: Args.string({description: 'container or image'})}
  static override flags = {
    format: Flags.string({description: 'Change the output format (json)'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
  }
}
