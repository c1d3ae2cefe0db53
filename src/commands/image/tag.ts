import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageTag extends TspodCommand {
  static override description = 'Add an additional name to a local image'
  static override aliases = ['tag']
  static override strict = false
  static override args = {
    image: Args.string({required: true, description: 'image to tag'}),
    target: Args.string({required: true, description: 'new name (more may follow)'}),
  }
}
