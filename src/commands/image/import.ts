import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageImport extends TspodCommand {
  static override description = 'Import a tarball (plain, gzip, zstd, bzip2, xz; file, URL or -) and save it as a filesystem image'
  static override aliases = ['import']
  static override needsUserNamespace = true
  static override args = {
    source: Args.string({required: true, description: 'tarball path, URL, or - for stdin'}),
    reference: Args.string({description: 'name for the new image'}),
  }
  static override flags = {
    change: Flags.string({char: 'c', multiple: true, description: 'Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)'}),
    message: Flags.string({char: 'm', description: 'Set the commit message for the imported image'}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress output'}),
    os: Flags.string({description: 'Set the OS of the imported image'}),
    arch: Flags.string({description: 'Set the architecture of the imported image'}),
    variant: Flags.string({description: 'Set the variant of the imported image'}),
  }
}
