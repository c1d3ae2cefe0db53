import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImagePush extends TspodCommand {
  static override description = 'Push an image to a specified destination'
  static override aliases = ['push']
  static override args = {
    image: Args.string({required: true, description: 'local image to push'}),
    destination: Args.string({description: 'where to push it (default: the image name)'}),
  }
  static override flags = {
    authfile: Flags.string({description: 'Path of the authentication file'}),
    'cert-dir': Flags.string({description: 'Use certificates at the specified path to access the registry'}),
    'compression-format': Flags.string({description: 'Compression format to use for layers', options: ['gzip', 'zstd']}),
    creds: Flags.string({description: 'Use USERNAME[:PASSWORD] for accessing the registry'}),
    digestfile: Flags.string({description: 'Write the digest of the pushed image to the specified file'}),
    format: Flags.string({char: 'f', description: 'Manifest type to use when pushing (oci, v2s2)', options: ['oci', 'v2s2']}),
    progress: Flags.string({description: 'How to show progress: auto (bars on a terminal), plain (lines), json (one event per line, for tools)', options: ['auto', 'plain', 'json']}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress output information when pushing images'}),
    'remove-signatures': Flags.boolean({description: 'Discard any pre-existing signatures in the image'}),
    retry: Flags.string({description: 'Number of times to retry in case of failure when performing push (default 3)'}),
    'retry-delay': Flags.string({description: 'Delay between retries in case of push failures (e.g. 2s, 500ms)'}),
    'tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when contacting registries'}),
  }
}
