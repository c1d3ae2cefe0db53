import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class NetworkCreate extends TspodCommand {
  static override description = 'Create a network (a bridge in the rootless network namespace, with DNS for container names)'
  static override args = {name: Args.string({description: 'network name (podmanN when absent)'})}
  static override flags = {
    driver: Flags.string({char: 'd', description: 'Driver to manage the network', default: 'bridge'}),
    'disable-dns': Flags.boolean({description: 'Disable DNS plugin'}),
    gateway: Flags.string({multiple: true, description: 'IPv4 or IPv6 gateway for the subnet'}),
    ignore: Flags.boolean({description: "Don't fail if network already exists"}),
    internal: Flags.boolean({description: 'Restrict external access from this network'}),
    'ip-range': Flags.string({multiple: true, description: 'Allocate container IP from range (CIDR or START-END)'}),
    ipv6: Flags.boolean({description: 'Enable IPv6 networking'}),
    label: Flags.string({multiple: true, description: 'Set metadata on a network'}),
    opt: Flags.string({char: 'o', multiple: true, description: 'Set driver specific options (mtu, vlan, isolate, metric)'}),
    subnet: Flags.string({multiple: true, description: 'Subnet in CIDR format'}),
  }
}
