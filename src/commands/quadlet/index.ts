import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class Quadlet extends TspodCommand {
  static override description = 'Turn Quadlet files (.container, .volume, .network, .pod, .kube, .image) into systemd units: with --dryrun print and verify them; with directories, run as a systemd generator'
  static override strict = false
  static override args = {
    normalDir: Args.string({description: 'the generator output directory (systemd passes three; the first is used)'}),
  }
  static override flags = {
    dryrun: Flags.boolean({description: 'Print the generated units instead of writing them, and verify them with systemd-analyze when it is installed'}),
    user: Flags.boolean({description: 'Read the user search path and generate user units (the default when not run as root)'}),
    'no-verify': Flags.boolean({description: 'With --dryrun: do not run systemd-analyze verify'}),
  }
}
