import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class VolumeRm extends TspodCommand {
  static override description = 'Remove one or more volumes'
  static override aliases = ['volume:remove']
  static override strict = false
  static override args = {name: Args.string({description: 'volume (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all volumes'}),
    force: Flags.boolean({char: 'f', description: 'Remove a volume by force, even if it is being used by a container'}),
  }
}
