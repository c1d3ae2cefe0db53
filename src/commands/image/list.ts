import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageList extends TspodCommand {
  static override description = 'List images in local storage'
  static override aliases = ['images', 'image:ls']
  static override args = {image: Args.string({description: 'only images matching this reference'})}
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'Show all images (default hides intermediate images)'}),
    digests: Flags.boolean({description: 'Show digests'}),
    filter: Flags.string({char: 'f', multiple: true, description: 'Filter output based on conditions provided (reference=, label=, dangling=, before=, since=, id=, readonly=)'}),
    format: Flags.string({description: "Change the output format to JSON or a Go template"}),
    noheading: Flags.boolean({char: 'n', description: 'Do not print column headings'}),
    'no-trunc': Flags.boolean({description: 'Do not truncate output'}),
    quiet: Flags.boolean({char: 'q', description: 'Display only image IDs'}),
    sort: Flags.string({description: 'Sort by created, id, repository, size, tag', default: 'created', options: ['created', 'id', 'repository', 'size', 'tag']}),
  }
}
