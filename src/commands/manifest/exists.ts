import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ManifestExists extends TspodCommand {
  static override description = 'Check if a manifest list exists in local storage (exit 0 if it does, 1 if not)'
  static override args = {list: Args.string({required: true})}
}
