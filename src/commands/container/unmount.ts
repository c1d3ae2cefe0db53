import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerUnmount extends TspodCommand {
  static override description = "Unmount working containers' root filesystems"
  static override aliases = ['unmount', 'umount', 'container:umount']
  static override strict = false
  static override args = {container: Args.string({description: 'container to unmount (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Unmount all of the currently mounted containers'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
  }
}
