import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerRm extends TspodCommand {
  static override description = 'Remove one or more containers'
  static override aliases = ['rm', 'container:remove']
  static override strict = false
  static override args = {container: Args.string({description: 'container to remove (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all containers'}),
    force: Flags.boolean({char: 'f', description: 'Force removal of a running or unusable container'}),
    ignore: Flags.boolean({char: 'i', description: 'Ignore errors when a specified container is missing'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    volumes: Flags.boolean({char: 'v', description: 'Remove anonymous volumes associated with the container'}),
    depend: Flags.boolean({description: 'Remove container and all containers that depend on it'}),
    time: Flags.string({char: 't', description: 'Seconds to wait for stop before killing the container'}),
    cidfile: Flags.string({multiple: true, description: 'Read the container ID from the file'}),
  }
}
