import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class KubeGenerate extends TspodCommand {
  static override description = 'Generate Kubernetes YAML (Pod, Deployment, DaemonSet or Job, with a Service and PersistentVolumeClaims) from containers, pods or volumes'
  static override aliases = ['generate:kube']
  static override strict = false
  static override args = {name: Args.string({required: true, description: 'container, pod or volume name or ID (more may follow)'})}
  static override flags = {
    filename: Flags.string({char: 'f', description: 'Write the YAML to this file instead of standard output'}),
    service: Flags.boolean({char: 's', description: 'Also generate a Service for the published ports'}),
    type: Flags.string({char: 't', description: 'Kind of workload to generate', options: ['pod', 'deployment', 'daemonset', 'job'], default: 'pod'}),
    replicas: Flags.string({char: 'r', description: 'Replicas of a Deployment (with --type deployment)'}),
  }
}
