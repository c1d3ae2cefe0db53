import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerExists extends TspodCommand {
  static override description = 'Check if a container exists in local storage (exit 0 if it does, 1 if not)'
  static override args = {container: Args.string({required: true})}
  static override flags = {external: Flags.boolean({description: 'Check external storage containers as well as tspod containers'})}
}
