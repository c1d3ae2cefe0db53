import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageHistory extends TspodCommand {
  static override description = 'Show history of a specified image'
  static override aliases = ['history']
  static override args = {image: Args.string({required: true})}
  static override flags = {
    format: Flags.string({description: 'Change the output to JSON or a Go template'}),
    human: Flags.boolean({char: 'H', description: 'Display sizes and dates in human readable format', default: true, allowNo: true}),
    'no-trunc': Flags.boolean({description: 'Do not truncate the output'}),
    quiet: Flags.boolean({char: 'q', description: 'Display the numeric IDs only'}),
  }
}
