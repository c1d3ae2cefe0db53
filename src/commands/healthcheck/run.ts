import {Args} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class HealthcheckRun extends TspodCommand {
  static override description = 'Run a container\'s healthcheck once: exit 0 when healthy, 1 when not'
  static override args = {container: Args.string({required: true, description: 'container name or ID'})}
}
