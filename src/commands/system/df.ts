import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SystemDf extends TspodCommand {
  static override description = "Show tspod's disk usage"
  static override flags = {
    format: Flags.string({description: 'Pretty-print images using a Go template, or json'}),
    verbose: Flags.boolean({char: 'v', description: 'Show detailed information on disk usage'}),
  }
}
