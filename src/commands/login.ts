import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class Login extends TspodCommand {
  static override description = 'Log in to a container registry'
  static override args = {
    registry: Args.string({description: 'registry to log in to (host[:port])'}),
  }
  static override flags = {
    authfile: Flags.string({description: 'Path of the authentication file'}),
    'cert-dir': Flags.string({description: 'Use certificates at the specified path to access the registry'}),
    'get-login': Flags.boolean({description: 'Return the current login user for the registry'}),
    password: Flags.string({char: 'p', description: 'Password for registry'}),
    'password-stdin': Flags.boolean({description: 'Take the password from stdin'}),
    'tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when contacting registries'}),
    username: Flags.string({char: 'u', description: 'Username for registry'}),
  }
}
