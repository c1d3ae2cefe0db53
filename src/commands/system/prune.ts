import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class SystemPrune extends TspodCommand {
  static override description = 'Remove unused data: stopped containers, dangling images (all unused with -a), and with --volumes unused volumes'
  static override needsUserNamespace = true
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all unused data'}),
    filter: Flags.string({multiple: true, description: 'Provide filter values (e.g. label=<key>=<value>)'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
    volumes: Flags.boolean({description: 'Prune volumes'}),
  }
}
