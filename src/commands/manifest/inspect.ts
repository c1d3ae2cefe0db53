import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ManifestInspect extends TspodCommand {
  static override description = 'Display a local manifest list, or the manifest or manifest list of an image in a registry'
  static override args = {
    image: Args.string({required: true, description: 'local manifest list, or image in a registry'}),
  }
  static override flags = {
    authfile: Flags.string({description: 'Path of the authentication file'}),
    'cert-dir': Flags.string({description: 'Use certificates at the specified path to access the registry'}),
    creds: Flags.string({description: 'Use USERNAME[:PASSWORD] for accessing the registry'}),
    'tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when contacting registries'}),
  }
}
