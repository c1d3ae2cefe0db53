import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerCommit extends TspodCommand {
  static override description = 'Create new image based on the changed container'
  static override aliases = ['commit']
  static override needsUserNamespace = true
  static override args = {
    container: Args.string({required: true, description: 'container to commit'}),
    image: Args.string({description: 'name of the new image'}),
  }
  static override flags = {
    author: Flags.string({char: 'a', description: 'Set the author for the image committed'}),
    change: Flags.string({char: 'c', multiple: true, description: 'Apply the following possible instructions to the created image: CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | ONBUILD | STOPSIGNAL | USER | VOLUME | WORKDIR'}),
    format: Flags.string({char: 'f', options: ['oci', 'docker'], default: 'oci', description: 'Format of the image manifest and metadata'}),
    iidfile: Flags.string({description: 'Write the image ID to the file'}),
    message: Flags.string({char: 'm', description: 'Set commit message for imported image'}),
    pause: Flags.boolean({char: 'p', description: 'Pause container during commit'}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress output'}),
    squash: Flags.boolean({char: 's', description: 'Squash newly built layers into a single new layer'}),
  }
}
