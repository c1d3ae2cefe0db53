import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerCleanup extends TspodCommand {
  static override description = 'Clean up network and mountpoints of one or more containers (what the monitor runs when a container exits)'
  static override strict = false
  static override needsUserNamespace = true
  static override args = {container: Args.string({description: 'container (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Cleans up all containers'}),
    rm: Flags.boolean({description: 'After cleanup, remove the container entirely'}),
  }
}
