import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerWait extends TspodCommand {
  static override description = 'Block on one or more containers'
  static override aliases = ['wait']
  static override strict = false
  static override args = {container: Args.string({description: 'container (more may follow)'})}
  static override flags = {
    condition: Flags.string({multiple: true, description: 'Condition to wait on (stopped, exited, running, created, healthy…)'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    ignore: Flags.boolean({description: 'Ignore if a container does not exist'}),
    interval: Flags.string({char: 'i', description: 'Time Interval to wait before polling for completion', default: '250ms'}),
  }
}
