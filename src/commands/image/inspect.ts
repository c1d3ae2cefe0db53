import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageInspect extends TspodCommand {
  static override description = 'Display the configuration of an image'
  static override strict = false
  static override args = {image: Args.string({required: true, description: 'image to inspect (more may follow)'})}
  static override flags = {
    format: Flags.string({char: 'f', description: 'Format the output with a Go template, or json'}),
  }
}
