import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'
import {containerRunFlags} from '../../cli/container-flags.js'

export default class ContainerRun extends TspodCommand {
  static override description = 'Run a command in a new container'
  static override aliases = ['run']
  static override strict = false
  static override stopAtFirstArg = true
  static override args = {image: Args.string({required: true, description: 'image to run'}), command: Args.string({description: 'command and its arguments'})}
  static override flags = containerRunFlags
}
