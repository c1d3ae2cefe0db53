import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class GenerateSystemd extends TspodCommand {
  static override description = 'Generate systemd unit files for a container, or for a pod and its containers (with --new, units that create them afresh at each start)'
  static override args = {container: Args.string({required: true, description: 'container or pod name or ID'})}
  static override flags = {
    after: Flags.string({multiple: true, description: 'Add dependencies order to the generated unit file'}),
    'container-prefix': Flags.string({description: 'Systemd unit name prefix for containers', default: 'container'}),
    env: Flags.string({char: 'e', multiple: true, description: 'Set environment variables to the systemd unit files'}),
    files: Flags.boolean({char: 'f', description: 'Generate .service files instead of printing to stdout'}),
    format: Flags.string({description: 'Print the created units in specified format (json)'}),
    name: Flags.boolean({char: 'n', description: 'Use container/pod names instead of IDs'}),
    new: Flags.boolean({description: 'Create a new container or pod instead of starting an existing one'}),
    'no-header': Flags.boolean({description: 'Skip header generation'}),
    'pod-prefix': Flags.string({description: 'Systemd unit name prefix for pods', default: 'pod'}),
    requires: Flags.string({multiple: true, description: 'Similar to wants, but declares stronger requirement dependencies'}),
    'restart-policy': Flags.string({description: 'Systemd restart-policy', default: 'on-failure'}),
    'restart-sec': Flags.string({description: 'Systemd restart-sec'}),
    separator: Flags.string({description: 'Systemd unit name separator between name/id and prefix', default: '-'}),
    'start-timeout': Flags.string({description: 'Start timeout override'}),
    'stop-timeout': Flags.string({description: 'Stop timeout override'}),
    time: Flags.string({char: 't', description: 'Stop timeout override'}),
    wants: Flags.string({multiple: true, description: 'Add (weak) requirement dependencies to the generated unit file'}),
  }
}
