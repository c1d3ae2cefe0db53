import t from 'tap'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createNetwork} from '../../../src/network/network-store.js'
import {containerNetnsPath, isNetworkName, joinNetworkNamespace, planContainerNetworks} from '../../../src/network/user-networks.js'
import type {OciSpec} from '../../../src/runtime/spec.js'
import type {Store} from '../../../src/storage/store.js'

const storeAt = () => ({graphRoot: mkdtempSync(join(tmpdir(), 'tspod-usernet-')), runRoot: '/run/x'}) as unknown as Store

t.test('--network values: modes are not network names', async t => {
  for (const mode of ['', 'none', 'host', 'private', 'slirp4netns', 'pasta', 'bridge', 'default', 'slirp4netns:mtu=1500', 'pasta:-T,80', 'container:web', 'ns:/run/netns/x']) {
    t.notOk(isNetworkName(mode), mode)
  }
  for (const name of ['podman', 'front', 'my.net', 'podman1']) t.ok(isNetworkName(name), name)
})

t.test('planContainerNetworks checks the request against the store', async t => {
  const store = storeAt()
  await createNetwork(store, {name: 'front', subnets: ['10.90.1.0/24']})
  await createNetwork(store, {name: 'back'})
  const plan = planContainerNetworks(store, {names: ['front', 'back', 'front'], aliases: ['www']}, ['1.1.1.1'])
  t.same(plan, {
    networks: {
      front: {aliases: ['www'], staticIps: [], staticMac: undefined, interfaceName: 'eth0'},
      back: {aliases: ['www'], staticIps: [], staticMac: undefined, interfaceName: 'eth1'},
    },
    dns: ['1.1.1.1'],
  }, 'one interface per network, in order, duplicates dropped')
  t.same(planContainerNetworks(store, {names: ['front'], ips: ['10.90.1.9'], mac: '92:d0:c6:0a:29:33'}).networks.front, {aliases: [], staticIps: ['10.90.1.9'], staticMac: '92:d0:c6:0a:29:33', interfaceName: 'eth0'})
  t.ok(planContainerNetworks(store, {names: ['podman']}).networks.podman, 'the default network needs no file')
  t.throws(() => planContainerNetworks(store, {names: ['nowhere']}), {message: 'unable to find network with name or ID nowhere: network not found', hint: /tspod network create nowhere/})
  t.throws(() => planContainerNetworks(store, {names: ['front', 'back'], ips: ['10.90.1.9']}), /--ip can only be set for a single network/)
  t.throws(() => planContainerNetworks(store, {names: ['front'], ips: ['10.91.0.9']}), /requested static ip 10\.91\.0\.9 not in any subnet on network front/)
  t.throws(() => planContainerNetworks(store, {names: ['front'], mac: 'nope'}), /invalid MAC address nope/)
})

t.test('joinNetworkNamespace points the spec at the bind-mounted namespace', async t => {
  const spec = {ociVersion: '1.0.2', linux: {namespaces: [{type: 'pid'}, {type: 'network'}, {type: 'mount'}]}} as unknown as OciSpec
  joinNetworkNamespace(spec, '/run/x', 'abc')
  t.same(spec.linux?.namespaces, [{type: 'pid'}, {type: 'network', path: containerNetnsPath('/run/x', 'abc')}, {type: 'mount'}])
  t.equal(containerNetnsPath('/run/x', 'abc'), '/run/x/networks/netns/abc')
})
