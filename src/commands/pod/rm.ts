import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodRm extends TspodCommand {
  static override description = 'Remove one or more pods'
  static override aliases = ['pod:remove']
  static override strict = false
  static override args = {pod: Args.string({description: 'pod (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Act on all pods'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
    force: Flags.boolean({char: 'f', description: 'Stop running containers and delete all stopped containers before removal of the pod'}),
    ignore: Flags.boolean({char: 'i', description: 'Ignore errors when a specified pod is missing'}),
    'pod-id-file': Flags.string({multiple: true, description: 'Read the pod ID from the file'}),
    time: Flags.string({char: 't', description: 'Seconds to wait for the pod\'s containers to stop before killing them'}),
  }
}
