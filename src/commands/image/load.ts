import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageLoad extends TspodCommand {
  static override description = 'Load image(s) from a tar archive (docker-archive or oci-archive, optionally gzip or zstd compressed)'
  static override aliases = ['load']
  static override needsUserNamespace = true
  static override flags = {
    input: Flags.string({char: 'i', description: 'Read from specified archive file (default: stdin)'}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress the output'}),
  }
}
