import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerRename extends TspodCommand {
  static override description = 'Rename an existing container'
  static override aliases = ['rename']
  static override args = {container: Args.string({required: true}), name: Args.string({required: true, description: 'new name'})}
}
