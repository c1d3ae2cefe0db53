import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class PodInspect extends TspodCommand {
  static override description = 'Display information describing a pod'
  static override strict = false
  static override args = {pod: Args.string({description: 'pod to inspect (more may follow)'})}
  static override flags = {
    format: Flags.string({char: 'f', description: 'Format the output to a Go template or json'}),
    latest: Flags.boolean({char: 'l', description: 'Act on the latest pod tspod is aware of'}),
  }
}
