import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class Search extends TspodCommand {
  static override description = 'Search a registry for an image (its search API, or its catalog)'
  static override args = {
    term: Args.string({required: true, description: 'what to search for: TERM or REGISTRY/TERM'}),
  }
  static override flags = {
    authfile: Flags.string({description: 'Path of the authentication file'}),
    'cert-dir': Flags.string({description: 'Use certificates at the specified path to access the registry'}),
    creds: Flags.string({description: 'Use USERNAME[:PASSWORD] for accessing the registry'}),
    format: Flags.string({description: 'Change the output format to JSON or a Go template'}),
    limit: Flags.string({description: 'Limit the number of results'}),
    'list-tags': Flags.boolean({description: 'List the tags of the input registry'}),
    'no-trunc': Flags.boolean({description: 'Do not truncate the output'}),
    'tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when contacting registries'}),
  }
}
