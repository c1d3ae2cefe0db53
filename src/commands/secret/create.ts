import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SecretCreate extends TspodCommand {
  static override description = 'Create a new secret from a file, standard input (-) or an environment variable (--env)'
  static override args = {
    name: Args.string({required: true, description: 'name of the secret'}),
    source: Args.string({required: true, description: 'file to read the secret from, - for standard input, or with --env the name of an environment variable'}),
  }
  static override flags = {
    driver: Flags.string({char: 'd', description: 'Specify secret driver', default: 'file'}),
    'driver-opts': Flags.string({multiple: true, description: 'Specify driver specific options'}),
    env: Flags.boolean({description: 'Read secret data from environment variable'}),
    label: Flags.string({char: 'l', multiple: true, description: 'Specify labels on the secret'}),
    replace: Flags.boolean({description: 'If a secret with the same name exists, replace it'}),
  }
}
