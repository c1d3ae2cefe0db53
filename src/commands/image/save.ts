import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageSave extends TspodCommand {
  static override description = 'Save image(s) to an archive'
  static override aliases = ['save']
  static override strict = false
  static override args = {image: Args.string({required: true, description: 'image to save (more may follow)'})}
  static override flags = {
    output: Flags.string({char: 'o', description: 'Write to a specified file (default: stdout, which must be redirected)'}),
    format: Flags.string({description: 'Save image to oci-archive, oci-dir (directory with oci manifest type), docker-archive', default: 'docker-archive', options: ['docker-archive', 'oci-archive', 'oci-dir', 'docker-dir']}),
    'multi-image-archive': Flags.boolean({char: 'm', description: 'Interpret additional arguments as images not tags and create a multi-image-archive (only for docker-archive)'}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress the output'}),
    compress: Flags.boolean({description: 'Compress tarball image layers when saving to a directory using the docker-dir format'}),
  }
}
