import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ManifestRm extends TspodCommand {
  static override description = 'Remove manifest lists or image indexes from local storage'
  static override strict = false
  // Removal collects layers owned by subordinate ids.
  static override needsUserNamespace = true
  static override args = {list: Args.string({required: true, description: 'manifest list to remove (more may follow)'})}
}
