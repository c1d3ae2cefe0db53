import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodCreate extends TspodCommand {
  static override description = 'Create a new empty pod'
  static override args = {name: Args.string({description: 'name of the pod (instead of --name)'})}
  static override flags = {
    'add-host': Flags.string({multiple: true, description: 'Add a custom host-to-IP mapping (host:ip) to the pod\'s /etc/hosts'}),
    dns: Flags.string({multiple: true, description: 'Set custom DNS servers in the pod'}),
    'exit-policy': Flags.string({description: 'Behaviour when the last container exits (continue, stop)', options: ['continue', 'stop'], default: 'continue'}),
    hostname: Flags.string({description: 'Set the pod\'s hostname'}),
    infra: Flags.boolean({description: 'Create an infra container associated with the pod to share namespaces with', default: true, allowNo: true}),
    'infra-conmon-pidfile': Flags.string({description: 'Path to the file that will receive the PID of the infra container\'s monitor'}),
    'infra-name': Flags.string({description: 'The name used as the infra container\'s name'}),
    label: Flags.string({char: 'l', multiple: true, description: 'Set metadata on the pod (key=value)'}),
    name: Flags.string({char: 'n', description: 'Assign a name to the pod'}),
    network: Flags.string({description: 'Connect the pod to a network (none, host, private, slirp4netns[:OPTIONS], pasta[:OPTIONS], or a network\'s name)', aliases: ['net']}),
    'pod-id-file': Flags.string({description: 'Write the pod ID to the file'}),
    publish: Flags.string({char: 'p', multiple: true, description: 'Publish a port or a range of ports of the pod to the host'}),
    replace: Flags.boolean({description: 'If a pod with the same name exists, replace it'}),
    share: Flags.string({description: 'A comma-separated list of kernel namespaces to share (cgroup, ipc, net, pid, uts, or none; +list adds to the default)'}),
    userns: Flags.string({description: 'User namespace to use for the pod\'s containers (host, keep-id, nomap)'}),
  }
}
