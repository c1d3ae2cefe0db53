import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'
import {containerCreateFlags} from '../../cli/container-flags.js'

export default class ContainerCreate extends TspodCommand {
  static override description = 'Create but do not start a container'
  static override aliases = ['create']
  static override strict = false
  static override stopAtFirstArg = true
  static override args = {image: Args.string({required: true, description: 'image to create the container from'}), command: Args.string({description: 'command and its arguments'})}
  static override flags = containerCreateFlags
}
