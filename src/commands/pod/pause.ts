import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodPause extends TspodCommand {
  static override description = 'Pause one or more pods'
  static override strict = false
  static override args = {pod: Args.string({description: 'pod (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Act on all pods'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
  }
}
