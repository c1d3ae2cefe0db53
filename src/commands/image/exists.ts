import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageExists extends TspodCommand {
  static override description = 'Check if an image exists in local storage (exit 0 if it does, 1 if not)'
  static override args = {image: Args.string({required: true})}
}
