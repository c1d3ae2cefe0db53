import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageRm extends TspodCommand {
  static override description = 'Remove one or more images from local storage'
  static override aliases = ['rmi', 'image:remove']
  static override strict = false
  static override needsUserNamespace = true
  static override args = {image: Args.string({description: 'image to remove (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all images'}),
    force: Flags.boolean({char: 'f', description: 'Force removal of the image and any containers using it'}),
    ignore: Flags.boolean({char: 'i', description: 'Ignore errors if a specified image does not exist'}),
  }
}
