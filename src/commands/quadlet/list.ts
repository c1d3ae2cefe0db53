import {Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class QuadletList extends TspodCommand {
  static override description = 'List the Quadlet files in the search path and the units they generate'
  static override aliases = ['quadlet:ls']
  static override flags = {
    format: Flags.string({description: 'Format the output using a Go template, or json'}),
    noheading: Flags.boolean({char: 'n', description: 'Do not print headers'}),
  }
}
