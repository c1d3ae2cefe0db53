import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ContainerExport extends TspodCommand {
  static override description = "Export a container's filesystem contents as a tar archive"
  static override aliases = ['export']
  static override needsUserNamespace = true
  static override args = {container: Args.string({required: true, description: 'container to export'})}
  static override flags = {
    output: Flags.string({char: 'o', description: 'Write to a specified file (default: stdout, which must be redirected)'}),
  }
}
