import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ManifestCreate extends TspodCommand {
  static override description = 'Create a manifest list or image index, optionally with images in it'
  static override strict = false
  static override args = {
    list: Args.string({required: true, description: 'name of the new list'}),
    image: Args.string({description: 'image to add (more may follow): local, or in a registry with docker://'}),
  }
  static override flags = {
    all: Flags.boolean({description: "add all of the lists' images if the images to add are lists"}),
    amend: Flags.boolean({char: 'a', description: 'modify an existing list if one with the desired name already exists'}),
    annotation: Flags.string({multiple: true, description: 'set an annotation (KEY=VALUE) on the image index'}),
    authfile: Flags.string({description: 'path of the authentication file'}),
    'cert-dir': Flags.string({description: 'use certificates at the specified path to access the registry'}),
    creds: Flags.string({description: 'use USERNAME[:PASSWORD] for accessing the registry'}),
    'tls-verify': Flags.boolean({description: 'require HTTPS and verify certificates when accessing the registry'}),
  }
}
