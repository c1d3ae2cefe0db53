import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodKill extends TspodCommand {
  static override description = 'Send the specified signal or SIGKILL to the containers of pods'
  static override strict = false
  static override args = {pod: Args.string({description: 'pod (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Act on all pods'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
    signal: Flags.string({char: 's', description: 'Signal to send to the containers in the pod', default: 'KILL'}),
  }
}
