import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerRestart extends TspodCommand {
  static override description = 'Restart one or more containers'
  static override aliases = ['restart']
  static override strict = false
  static override args = {container: Args.string({description: 'container to restart (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Restart all non-running containers'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    running: Flags.boolean({description: 'Restart only running containers when --all is used'}),
    time: Flags.string({char: 't', description: 'Seconds to wait for stop before killing the container'}),
  }
}
