/**
 * The oclif base class of every tspod command. Command classes hold what oclif
 * needs for help, the manifest and completions (description, flags, args,
 * aliases); execution goes through dist/main.cjs's own parser (see
 * src/dispatch.ts), so run() only forwards there.
 */
import {Command, Flags} from '@oclif/core'

export abstract class TspodCommand extends Command {
  static override baseFlags = {
    root: Flags.string({description: 'Path to the root directory in which data, including images, is stored', helpGroup: 'GLOBAL'}),
    runroot: Flags.string({description: "Path to the 'run directory' where all state information is stored", helpGroup: 'GLOBAL'}),
    'storage-driver': Flags.string({description: 'Select which storage driver is used to manage storage of images and containers', helpGroup: 'GLOBAL', options: ['overlay', 'vfs']}),
    runtime: Flags.string({description: 'Path to the OCI-compatible binary used to run containers', helpGroup: 'GLOBAL'}),
    'log-level': Flags.string({description: 'Log messages above specified level (trace, debug, info, warn, error, fatal, panic)', helpGroup: 'GLOBAL', default: 'warn'}),
  }

  /** Flags after the first positional argument belong to it (pflag's SetInterspersed(false)). */
  static stopAtFirstArg = false
  /** Re-execute inside tspod's user namespace before running (rootless). */
  static needsUserNamespace = false

  async run(): Promise<void> {
    const {dispatch} = await import('../dispatch.js')
    process.exitCode = await dispatch([...this.id!.split(':'), ...this.argv])
  }
}
