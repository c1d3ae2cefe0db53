import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ManifestPush extends TspodCommand {
  static override description = 'Push a manifest list or image index to a registry'
  // --rm removes the list, and removal collects layers owned by subordinate ids.
  static override needsUserNamespace = true
  static override args = {
    list: Args.string({required: true, description: 'the manifest list'}),
    destination: Args.string({description: 'where to push it (default: the list name)'}),
  }
  static override flags = {
    all: Flags.boolean({default: true, description: 'also push the images in the list (default true)'}),
    authfile: Flags.string({description: 'path of the authentication file'}),
    'cert-dir': Flags.string({description: 'use certificates at the specified path to access the registry'}),
    'compression-format': Flags.string({description: 'compression format to use for layers', options: ['gzip', 'zstd']}),
    creds: Flags.string({description: 'use USERNAME[:PASSWORD] for accessing the registry'}),
    digestfile: Flags.string({description: 'after copying the image, write the digest of the resulting list to the file'}),
    format: Flags.string({char: 'f', description: 'manifest type (oci or v2s2) to use when pushing the list and its images', options: ['oci', 'v2s2']}),
    progress: Flags.string({description: 'How to show progress: auto (bars on a terminal), plain (lines), json (one event per line, for tools)', options: ['auto', 'plain', 'json']}),
    quiet: Flags.boolean({char: 'q', description: "don't output progress information when pushing lists"}),
    'remove-signatures': Flags.boolean({description: "don't copy signatures when pushing images"}),
    rm: Flags.boolean({description: 'remove the manifest list if push succeeds'}),
    'tls-verify': Flags.boolean({description: 'require HTTPS and verify certificates when accessing the registry'}),
  }
}
