import {Flags} from '@oclif/core'
import {TspodCommand} from '../cli/base-command.js'

export default class AutoUpdate extends TspodCommand {
  static override description = 'Auto update containers according to their auto-update policy (io.containers.autoupdate=registry or local)'
  static override flags = {
    authfile: Flags.string({description: 'Path to the authentication file (a container\'s io.containers.autoupdate.authfile label wins)'}),
    'dry-run': Flags.boolean({description: 'Check for pending updates: pull nothing and restart nothing'}),
    format: Flags.string({description: 'Change the output format to JSON or a Go template'}),
    rollback: Flags.boolean({description: 'Rollback to the previous image if the updated container fails to start or becomes unhealthy (default true)', default: true, allowNo: false}),
    'tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when contacting registries'}),
  }
}
