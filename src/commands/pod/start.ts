import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodStart extends TspodCommand {
  static override description = 'Start one or more pods'
  static override strict = false
  static override args = {pod: Args.string({description: 'pod (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Act on all pods'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
    'pod-id-file': Flags.string({multiple: true, description: 'Read the pod ID from the file'}),
  }
}
