import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ManifestAdd extends TspodCommand {
  static override description = 'Add an image to a manifest list or image index'
  static override args = {
    list: Args.string({required: true, description: 'the manifest list'}),
    image: Args.string({required: true, description: 'image to add: local, or in a registry with docker://'}),
  }
  static override flags = {
    all: Flags.boolean({description: "add all of the list's images if the image is a list"}),
    annotation: Flags.string({multiple: true, description: 'set an annotation (KEY=VALUE) for the specified image'}),
    arch: Flags.string({description: 'override the architecture of the specified image'}),
    authfile: Flags.string({description: 'path of the authentication file'}),
    'cert-dir': Flags.string({description: 'use certificates at the specified path to access the registry'}),
    creds: Flags.string({description: 'use USERNAME[:PASSWORD] for accessing the registry'}),
    features: Flags.string({multiple: true, description: 'override the features of the specified image'}),
    os: Flags.string({description: 'override the OS of the specified image'}),
    'os-version': Flags.string({description: 'override the OS version of the specified image'}),
    'tls-verify': Flags.boolean({description: 'require HTTPS and verify certificates when accessing the registry'}),
    variant: Flags.string({description: 'override the variant of the specified image'}),
  }
}
