import {Args} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class Unshare extends TspodCommand {
  static override description = "Run a command in a modified user namespace (tspod's, as the containers see it)"
  static override strict = false
  static override stopAtFirstArg = true
  static override needsUserNamespace = true
  static override args = {command: Args.string({description: 'command to run (default: $SHELL)'})}
}
