import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class Logout extends TspodCommand {
  static override description = 'Log out of a container registry'
  static override args = {
    registry: Args.string({description: 'registry to log out of (host[:port])'}),
  }
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Remove the cached credentials for all registries in the auth file'}),
    authfile: Flags.string({description: 'Path of the authentication file'}),
  }
}
