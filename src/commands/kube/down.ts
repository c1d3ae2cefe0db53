import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class KubeDown extends TspodCommand {
  static override description = 'Remove the pods that kube play created from this YAML, with the volumes and secrets it created'
  static override args = {file: Args.string({required: true, description: 'YAML file, http(s) URL, or - for standard input'})}
}
