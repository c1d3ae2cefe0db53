import {Flags} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class Version extends TspodCommand {
  static override description = 'Display the tspod version information'
  static override flags = {
    format: Flags.string({char: 'f', description: "Change the output format to JSON or a Go template"}),
  }
}
