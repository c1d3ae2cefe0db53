import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImagePull extends TspodCommand {
  static override description = 'Pull an image from a registry'
  static override aliases = ['pull']
  static override needsUserNamespace = true
  static override strict = false
  static override args = {
    image: Args.string({required: true, description: 'image to pull (more may follow)'}),
  }
  static override flags = {
    'all-tags': Flags.boolean({char: 'a', description: 'Pull all tagged images in the repository'}),
    arch: Flags.string({description: 'Use ARCH instead of the architecture of the machine for choosing images'}),
    authfile: Flags.string({description: 'Path of the authentication file'}),
    'cert-dir': Flags.string({description: 'Use certificates at the specified path to access the registry'}),
    creds: Flags.string({description: 'Use USERNAME[:PASSWORD] for accessing the registry'}),
    os: Flags.string({description: 'Use OS instead of the running OS for choosing images'}),
    platform: Flags.string({description: 'Specify the platform for selecting the image (OS/ARCH[/VARIANT])'}),
    progress: Flags.string({description: 'How to show progress: auto (bars on a terminal), plain (lines), json (one event per line, for tools)', options: ['auto', 'plain', 'json']}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress output information when pulling images'}),
    retry: Flags.string({description: 'Number of times to retry in case of failure when performing pull (default 3)'}),
    'retry-delay': Flags.string({description: 'Delay between retries in case of pull failures (e.g. 2s, 500ms)'}),
    'tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when contacting registries'}),
    variant: Flags.string({description: 'Use VARIANT instead of the running architecture variant for choosing images'}),
  }
}
