import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodExists extends TspodCommand {
  static override description = 'Check if a pod exists in local storage (exit code 0 if it does, 1 if not)'
  static override args = {pod: Args.string({description: 'pod name or ID', required: true})}
}
