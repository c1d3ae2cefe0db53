import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodTop extends TspodCommand {
  static override description = 'Display the running processes of the containers in a pod'
  static override strict = false
  static override stopAtFirstArg = true
  static override args = {
    pod: Args.string({description: 'pod to list the processes of'}),
    descriptors: Args.string({description: 'format descriptors (user, pid, ppid, pcpu, etime, tty, time, args, comm, …), as arguments or comma-separated'}),
  }
  static override flags = {
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
  }
}
