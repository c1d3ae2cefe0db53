import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SecretRm extends TspodCommand {
  static override description = 'Remove one or more secrets'
  static override strict = false
  static override args = {secret: Args.string({description: 'secret name or ID (more may follow)'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all secrets'}),
    ignore: Flags.boolean({char: 'i', description: 'Ignore errors when a specified secret is missing'}),
  }
}
