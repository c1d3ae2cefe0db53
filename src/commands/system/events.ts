import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SystemEvents extends TspodCommand {
  static override description = 'Show tspod events: what every command did to containers, images, volumes, secrets, networks and pods'
  static override aliases = ['events']
  static override flags = {
    filter: Flags.string({char: 'f', multiple: true, description: 'filter output (container=, event=, image=, label=, network=, pod=, secret=, type=, volume=)'}),
    format: Flags.string({description: 'format the output using a Go template, or json'}),
    'no-trunc': Flags.boolean({description: 'do not truncate the output', default: true, allowNo: true}),
    since: Flags.string({description: 'show all events created since timestamp (RFC 3339, Unix time, or a duration such as 10m)'}),
    stream: Flags.boolean({description: 'stream new events; with --stream=false print the existing ones and exit', default: true, allowNo: true}),
    until: Flags.string({description: 'show all events created until timestamp'}),
  }
}
