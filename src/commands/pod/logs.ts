import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodLogs extends TspodCommand {
  static override description = 'Fetch the logs of the containers of a pod, interleaved'
  static override args = {pod: Args.string({description: 'pod whose containers\' logs to show'})}
  static override flags = {
    container: Flags.string({char: 'c', description: 'Only the logs of this container (name or ID) of the pod'}),
    follow: Flags.boolean({char: 'f', description: 'Follow log output'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
    names: Flags.boolean({char: 'n', description: 'Output the container names instead of the container IDs in the log'}),
    since: Flags.string({description: 'Show logs since TIMESTAMP'}),
    until: Flags.string({description: 'Show logs until TIMESTAMP'}),
    tail: Flags.string({description: 'Output the specified number of LINES at the end of each container\'s log'}),
    timestamps: Flags.boolean({char: 't', description: 'Output the timestamps in the log'}),
  }
}
