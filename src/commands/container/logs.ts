import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerLogs extends TspodCommand {
  static override description = 'Fetch the logs of one or more containers'
  static override aliases = ['logs']
  static override strict = false
  static override args = {container: Args.string({description: 'container (more may follow)'})}
  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'Follow log output'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    names: Flags.boolean({char: 'n', description: 'Output the container name in the log'}),
    since: Flags.string({description: 'Show logs since TIMESTAMP'}),
    until: Flags.string({description: 'Show logs until TIMESTAMP'}),
    tail: Flags.string({description: 'Output the specified number of LINES at the end of the logs'}),
    timestamps: Flags.boolean({char: 't', description: 'Output the timestamps in the log'}),
  }
}
