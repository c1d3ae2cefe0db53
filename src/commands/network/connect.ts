import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkConnect extends TspodCommand {
  static override description = 'Connect a container to a network'
  static override args = {
    network: Args.string({required: true, description: 'network name or ID'}),
    container: Args.string({required: true, description: 'container name or ID'}),
  }
  static override flags = {
    alias: Flags.string({multiple: true, description: 'Network scoped alias for the container'}),
    ip: Flags.string({description: 'IPv4 address for the container on this network'}),
    ip6: Flags.string({description: 'IPv6 address for the container on this network'}),
    'mac-address': Flags.string({description: 'MAC address for the container on this network'}),
  }
}
