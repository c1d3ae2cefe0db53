import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageUntag extends TspodCommand {
  static override description = 'Remove a name from a local image (all names when none is given)'
  static override aliases = ['untag']
  static override strict = false
  static override args = {
    image: Args.string({required: true, description: 'image to untag'}),
    name: Args.string({description: 'name to remove (more may follow)'}),
  }
}
