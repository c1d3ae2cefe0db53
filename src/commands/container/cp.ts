import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerCp extends TspodCommand {
  static override description = 'Copy files/folders between a container and the local filesystem'
  static override aliases = ['cp']
  static override needsUserNamespace = true
  static override args = {
    source: Args.string({required: true, description: '[CONTAINER:]SRC_PATH, or - for a tar archive on stdin'}),
    destination: Args.string({required: true, description: '[CONTAINER:]DEST_PATH, or - for a tar archive on stdout'}),
  }
  static override flags = {
    archive: Flags.boolean({char: 'a', default: true, allowNo: true, description: "Chown copied files to the container's primary uid/gid (--archive=false keeps the source's)"}),
    overwrite: Flags.boolean({description: 'Allow to overwrite directories with non-directories and vice versa'}),
  }
}
