import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerMount extends TspodCommand {
  static override description = "Mount a working container's root filesystem (rootless: inside tspod unshare)"
  static override aliases = ['mount']
  static override strict = false
  static override args = {container: Args.string({description: 'container to mount (more may follow); none lists the mounted ones'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Mount all containers'}),
    format: Flags.string({description: 'Print the mounted containers in the specified format (json)'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    'no-trunc': Flags.boolean({description: 'Do not truncate output'}),
  }
}
