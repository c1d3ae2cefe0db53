import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ManifestAnnotate extends TspodCommand {
  static override description = 'Add or update information about an entry in a manifest list or image index'
  static override args = {
    list: Args.string({required: true, description: 'the manifest list'}),
    image: Args.string({required: true, description: "the entry: its manifest digest, or a local image's name"}),
  }
  static override flags = {
    annotation: Flags.string({multiple: true, description: 'set an annotation (KEY=VALUE) for the specified image'}),
    arch: Flags.string({description: 'override the architecture of the specified image'}),
    features: Flags.string({multiple: true, description: 'override the features of the specified image'}),
    os: Flags.string({description: 'override the OS of the specified image'}),
    'os-features': Flags.string({multiple: true, description: 'override the OS features of the specified image'}),
    'os-version': Flags.string({description: 'override the OS version of the specified image'}),
    variant: Flags.string({description: 'override the variant of the specified image'}),
  }
}
