import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerExec extends TspodCommand {
  static override description = 'Run a process in a running container'
  static override aliases = ['exec']
  static override strict = false
  static override stopAtFirstArg = true
  static override args = {container: Args.string({description: 'container to run the command in'}), command: Args.string({description: 'command and its arguments'})}
  static override flags = {
    detach: Flags.boolean({char: 'd', description: 'Run the exec session in detached mode (backgrounded)'}),
    env: Flags.string({char: 'e', multiple: true, description: 'Set environment variables'}),
    'env-file': Flags.string({multiple: true, description: 'Read in a file of environment variables'}),
    interactive: Flags.boolean({char: 'i', description: 'Make STDIN available to the contained process'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
    privileged: Flags.boolean({description: 'Give the process extended Linux capabilities inside the container'}),
    tty: Flags.boolean({char: 't', description: 'Allocate a pseudo-TTY (needs a terminal on stdin)'}),
    user: Flags.string({char: 'u', description: 'Sets the username or UID used and optionally the groupname or GID for the specified command'}),
    workdir: Flags.string({char: 'w', description: 'Working directory inside the container'}),
  }
}
