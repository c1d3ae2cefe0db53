import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SecretExists extends TspodCommand {
  static override description = 'Check if a secret exists: exit 0 when it does, 1 when it does not'
  static override args = {secret: Args.string({required: true, description: 'secret name or ID'})}
}
