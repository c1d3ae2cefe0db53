import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class VolumeCreate extends TspodCommand {
  static override description = 'Create a new volume'
  static override args = {name: Args.string({description: 'volume name (generated when absent)'})}
  static override flags = {
    driver: Flags.string({char: 'd', description: 'Specify volume driver name', default: 'local'}),
    ignore: Flags.boolean({description: "Don't fail if volume already exists"}),
    label: Flags.string({char: 'l', multiple: true, description: 'Set metadata for a volume (e.g. --label mykey=value)'}),
    opt: Flags.string({char: 'o', multiple: true, description: 'Set driver specific options'}),
  }
}
