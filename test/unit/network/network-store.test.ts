import t from 'tap'
import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  allocateSubnet,
  createNetwork,
  defaultNetwork,
  findNetwork,
  firstHost,
  formatCidr,
  formatIp,
  listNetworks,
  networkMatchesFilters,
  networkTemplateView,
  parseCidr,
  parseIp,
  parseNetworkFilters,
  readNetwork,
  removeNetworkRecord,
  subnetsOverlap,
} from '../../../src/network/network-store.js'

const storeAt = () => ({graphRoot: mkdtempSync(join(tmpdir(), 'tspod-netstore-'))})

t.test('addresses parse and print back canonically', async t => {
  t.equal(formatIp(parseIp('10.89.0.1', 'x')), '10.89.0.1')
  t.equal(formatIp(parseIp('fd00:0:0:0:0:0:0:5', 'x')), 'fd00::5')
  t.equal(formatIp(parseIp('::1', 'x')), '::1')
  t.equal(formatIp(parseIp('fd12:3456:789a:1::', 'x')), 'fd12:3456:789a:1::')
  t.equal(formatCidr(parseCidr('10.89.3.77/24', 'x')), '10.89.3.0/24', 'host bits are masked off')
  t.throws(() => parseIp('10.89.0.256', '--ip'), /--ip: invalid IP address 10\.89\.0\.256/)
  t.throws(() => parseCidr('10.89.0.0', '--subnet'), /--subnet: invalid CIDR 10\.89\.0\.0/)
  t.throws(() => parseCidr('10.89.0.0/33', '--subnet'), /invalid CIDR/)
  t.equal(firstHost('10.89.4.0/24'), '10.89.4.1')
  t.equal(firstHost('fd00:1::/64'), 'fd00:1::1')
})

t.test('subnets overlap when either contains the other', async t => {
  t.ok(subnetsOverlap('10.89.0.0/16', '10.89.5.0/24'))
  t.ok(subnetsOverlap('10.89.5.0/24', '10.89.5.128/25'))
  t.notOk(subnetsOverlap('10.89.0.0/24', '10.89.1.0/24'))
  t.notOk(subnetsOverlap('10.89.0.0/24', 'fd00::/64'))
})

t.test('allocateSubnet takes the first free 10.89.N.0/24, as Podman', async t => {
  t.equal(allocateSubnet([]), '10.89.0.0/24')
  t.equal(allocateSubnet(['10.89.0.0/24', '10.89.1.0/24']), '10.89.2.0/24')
  t.equal(allocateSubnet(['10.89.1.0/24']), '10.89.0.0/24', 'a gap is reused')
  t.equal(allocateSubnet(['10.89.0.0/23']), '10.89.2.0/24', 'a wider subnet in use covers several')
  t.equal(allocateSubnet(['10.89.0.0/16']), '10.90.0.0/24', 'past 10.89 comes 10.90')
  t.equal(allocateSubnet(['not a subnet', '10.89.0.0/24']), '10.89.1.0/24', 'unparsable entries are ignored')
})

t.test('the default network exists implicitly and cannot be removed', async t => {
  const store = storeAt()
  t.same(listNetworks(store).map(n => n.name), ['podman'])
  t.equal(findNetwork(store, 'podman').network_interface, 'podman0')
  t.equal(defaultNetwork().subnets[0].subnet, '10.88.0.0/16')
  await t.rejects(removeNetworkRecord(store, 'podman'), /default network podman cannot be removed/)
})

t.test('createNetwork writes Podman\'s JSON shape atomically, with free subnets and bridges', async t => {
  const store = storeAt()
  const a = await createNetwork(store, {name: 'front', labels: {team: 'web'}})
  const b = await createNetwork(store, {})
  t.equal(a.name, 'front')
  t.equal(b.name, 'podman1', 'unnamed networks are podmanN')
  t.same(a.subnets, [{subnet: '10.89.0.0/24', gateway: '10.89.0.1'}])
  t.same(b.subnets, [{subnet: '10.89.1.0/24', gateway: '10.89.1.1'}])
  t.equal(a.network_interface, 'podman1')
  t.equal(b.network_interface, 'podman2')
  t.match(a, {driver: 'bridge', ipv6_enabled: false, internal: false, dns_enabled: true, labels: {team: 'web'}, options: {}, ipam_options: {driver: 'host-local'}})
  t.match(a.id, /^[0-9a-f]{64}$/)
  const onDisk = JSON.parse(readFileSync(join(store.graphRoot, 'networks', 'front.json'), 'utf8'))
  t.same(onDisk, a)
  t.same(readdirSync(join(store.graphRoot, 'networks')).filter(n => n.startsWith('.tmp')), [], 'no temporary file is left')
  t.equal(readNetwork(store, a.id.slice(0, 10))?.name, 'front', 'an ID prefix finds it')
  t.same(listNetworks(store).map(n => n.name), ['podman', 'front', 'podman1'])
})

t.test('createNetwork takes --subnet, --gateway, --ip-range, --internal, --disable-dns, --ipv6', async t => {
  const store = storeAt()
  const n = await createNetwork(store, {name: 'x', subnets: ['10.99.0.0/24'], gateways: ['10.99.0.254'], ipRanges: ['10.99.0.128/25'], internal: true, disableDns: true})
  t.same(n.subnets, [{subnet: '10.99.0.0/24', gateway: '10.99.0.254', lease_range: {start_ip: '10.99.0.129', end_ip: '10.99.0.254'}}])
  t.equal(n.internal, true)
  t.equal(n.dns_enabled, false)
  const range = await createNetwork(store, {name: 'y', subnets: ['10.98.0.0/24'], ipRanges: ['10.98.0.10-10.98.0.20']})
  t.same(range.subnets[0].lease_range, {start_ip: '10.98.0.10', end_ip: '10.98.0.20'})
  const v6 = await createNetwork(store, {name: 'v6', ipv6: true})
  t.equal(v6.ipv6_enabled, true)
  t.equal(v6.subnets.length, 2, 'an IPv4 and an IPv6 subnet')
  t.match(v6.subnets[1].subnet, /^fd[0-9a-f]{2}:[0-9a-f:]+::\/64$/)
  const only6 = await createNetwork(store, {name: 'only6', ipv6: true, subnets: ['fd00:10::/64']})
  t.same(only6.subnets, [{subnet: 'fd00:10::/64', gateway: 'fd00:10::1'}])
})

t.test('createNetwork refuses what Podman refuses, naming the network and the fix', async t => {
  const store = storeAt()
  await createNetwork(store, {name: 'taken', subnets: ['10.97.0.0/24']})
  await t.rejects(createNetwork(store, {name: 'taken'}), {message: 'network name taken already used: network already exists', hint: /tspod network rm taken/})
  t.equal((await createNetwork(store, {name: 'taken', ignoreExisting: true})).name, 'taken', '--ignore returns the existing one')
  await t.rejects(createNetwork(store, {name: 'bad name'}), /network name bad name invalid/)
  await t.rejects(createNetwork(store, {name: 'm', driver: 'macvlan'}), /unsupported driver macvlan/)
  await t.rejects(createNetwork(store, {name: 'o', subnets: ['10.97.0.0/25']}), /subnet 10\.97\.0\.0\/25 is already used by network taken/)
  await t.rejects(createNetwork(store, {name: 'g', subnets: ['10.96.0.0/24'], gateways: ['10.95.0.1']}), /gateway 10\.95\.0\.1 not in subnet 10\.96\.0\.0\/24/)
  await t.rejects(createNetwork(store, {name: 'g2', gateways: ['10.95.0.1']}), /cannot set more gateways than subnets/)
  await t.rejects(createNetwork(store, {name: 'r', subnets: ['10.94.0.0/24'], ipRanges: ['10.93.0.0/25']}), /ip range 10\.93\.0\.0\/25 is not inside subnet 10\.94\.0\.0\/24/)
  await t.rejects(createNetwork(store, {name: 's6', subnets: ['fd00::/64']}), /IPv6 subnets need --ipv6/)
  await t.rejects(createNetwork(store, {name: 'opt', options: {foo: '1'}}), /unsupported bridge network option foo/)
  t.same(listNetworks(store).map(n => n.name), ['podman', 'taken'], 'nothing was written for the refused ones')
})

t.test('concurrent creates get distinct subnets and names', async t => {
  const store = storeAt()
  const made = await Promise.all(Array.from({length: 6}, () => createNetwork(store, {})))
  t.equal(new Set(made.map(n => n.name)).size, 6)
  t.equal(new Set(made.map(n => n.subnets[0].subnet)).size, 6)
})

t.test('removeNetworkRecord deletes the file', async t => {
  const store = storeAt()
  await createNetwork(store, {name: 'gone'})
  await removeNetworkRecord(store, 'gone')
  t.equal(readNetwork(store, 'gone'), undefined)
})

t.test('filters follow Podman: name is a regexp, id a prefix, label with or without value', async t => {
  const store = storeAt()
  const n = await createNetwork(store, {name: 'web-net', labels: {tier: 'front', x: ''}})
  const match = (filters: string[], used = false) => networkMatchesFilters(n, parseNetworkFilters(filters), () => used)
  t.ok(match(['name=^web']))
  t.notOk(match(['name=^net']))
  t.ok(match(['name=nope', 'name=web']), 'values of one key are alternatives')
  t.ok(match([`id=${n.id.slice(0, 6)}`]))
  t.ok(match(['driver=bridge']))
  t.ok(match(['label=tier']))
  t.ok(match(['label=tier=front']))
  t.notOk(match(['label=tier=back']))
  t.notOk(match(['label!=tier']))
  t.ok(match(['dangling=true'], false))
  t.notOk(match(['dangling=true'], true))
  t.ok(match(['until=2999-01-01T00:00:00Z']))
  t.notOk(match(['until=1h']))
  t.throws(() => parseNetworkFilters(['colour=red']), /invalid filter "colour=red"/)
})

t.test('templates see Go field names; ls shows short IDs and labels as k=v', async t => {
  const n = defaultNetwork()
  t.match(networkTemplateView(n), {Name: 'podman', ID: n.id, Driver: 'bridge', NetworkInterface: 'podman0', DNSEnabled: false})
  t.equal(networkTemplateView(n, {list: true}).ID, n.id.slice(0, 12))
  t.equal(networkTemplateView(n, {list: true, noTrunc: true}).ID, n.id)
  t.equal(networkTemplateView({...n, labels: {a: '1', b: '2'}}, {list: true}).Labels, 'a=1,b=2')
})
