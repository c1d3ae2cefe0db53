import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class VolumeInspect extends TspodCommand {
  static override description = 'Display detailed information on one or more volumes'
  static override strict = false
  static override args = {name: Args.string({description: 'volume (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Inspect all volumes'}),
    format: Flags.string({char: 'f', description: 'Format volume output using Go template'}),
  }
}
