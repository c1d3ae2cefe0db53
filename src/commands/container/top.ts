import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerTop extends TspodCommand {
  static override description = 'Display the running processes of a container'
  static override aliases = ['top']
  static override strict = false
  static override stopAtFirstArg = true
  static override args = {
    container: Args.string({description: 'container to list the processes of'}),
    descriptors: Args.string({description: 'format descriptors (user, pid, ppid, pcpu, etime, tty, time, args, comm, uid, gid, vsz, rss, state, …), as arguments or comma-separated'}),
  }
  static override flags = {
    latest: Flags.boolean({char: 'l', description: 'Act on the latest container tspod is aware of'}),
  }
}
