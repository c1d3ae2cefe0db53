import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SecretInspect extends TspodCommand {
  static override description = 'Inspect a secret (its data only with --showsecret)'
  static override strict = false
  static override args = {secret: Args.string({required: true, description: 'secret name or ID (more may follow)'})}
  static override flags = {
    format: Flags.string({char: 'f', description: 'Format output using Go template'}),
    pretty: Flags.boolean({description: 'Print inspect output in human-readable format'}),
    showsecret: Flags.boolean({description: 'Display the secret data'}),
  }
}
