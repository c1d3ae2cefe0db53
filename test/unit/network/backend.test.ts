/** --network parsing, backend options, the backend choice and what the monitor is told. */
import t from 'tap'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {
  chooseBackend,
  decideNetwork,
  describeNetwork,
  legacySettings,
  monitorNetworkArgs,
  networkModeName,
  parseNetworkFlag,
  pastaArgs,
  planContainerNetwork,
  slirpArgs,
} from '../../../src/network/backend.js'

t.test('parseNetworkFlag: every mode', async t => {
  t.same(parseNetworkFlag(undefined), {kind: 'default'})
  t.same(parseNetworkFlag('private'), {kind: 'default'})
  t.same(parseNetworkFlag('bridge'), {kind: 'default'})
  t.same(parseNetworkFlag('none'), {kind: 'none'})
  t.same(parseNetworkFlag('host'), {kind: 'host'})
  t.same(parseNetworkFlag('slirp4netns'), {kind: 'backend', backend: 'slirp4netns', options: []})
  t.same(parseNetworkFlag('slirp4netns:allow_host_loopback=true,mtu=1500'), {kind: 'backend', backend: 'slirp4netns', options: ['allow_host_loopback=true', 'mtu=1500']})
  t.same(parseNetworkFlag('pasta:--no-map-gw,-I,eth1'), {kind: 'backend', backend: 'pasta', options: ['--no-map-gw', '-I', 'eth1']})
  t.same(parseNetworkFlag('container:web'), {kind: 'container', container: 'web'})
  t.same(parseNetworkFlag('ns:/run/netns/x'), {kind: 'ns', path: '/run/netns/x'})
  t.same(parseNetworkFlag('mynet'), {kind: 'named', name: 'mynet'})
  t.throws(() => parseNetworkFlag('ns:relative'), /expected ns:\/absolute/)
  t.throws(() => parseNetworkFlag('container:'), /expected container:NAME/)
  t.throws(() => parseNetworkFlag('mynet:x'), /only slirp4netns:, pasta:, container: and ns: take options/)
})

t.test('slirpArgs: Podman\'s slirp4netns options', async t => {
  t.same(slirpArgs([]), ['--mtu=65520', '--disable-host-loopback'], 'defaults')
  t.same(slirpArgs(['allow_host_loopback=true']), ['--mtu=65520'])
  t.same(slirpArgs(['enable_ipv6=true', 'cidr=10.0.3.0/24', 'mtu=1500', 'outbound_addr=eth0', 'port_handler=slirp4netns']), [
    '--mtu=1500',
    '--disable-host-loopback',
    '--enable-ipv6',
    '--cidr=10.0.3.0/24',
    '--outbound-addr=eth0',
  ])
  t.throws(() => slirpArgs(['port_handler=rootlesskit']), /port_handler=rootlesskit: not available: tspod publishes ports through slirp4netns itself/)
  t.throws(() => slirpArgs(['mtu=10']), /expected a number from 68 to 65521/)
  t.throws(() => slirpArgs(['cidr=x']), /expected an IPv4 network/)
  t.throws(() => slirpArgs(['bogus']), InvalidArgumentError)
  t.throws(() => slirpArgs(['allow_host_loopback=maybe']), /expected true or false/)
})

t.test('pastaArgs: passed on, except what tspod sets itself', async t => {
  t.same(pastaArgs(['--no-map-gw', '-I', 'eth1']), ['--no-map-gw', '-I', 'eth1'])
  t.throws(() => pastaArgs(['--netns', '/x']), /pasta option --netns: set by tspod itself/)
  t.throws(() => pastaArgs(['-f']), /set by tspod itself/)
})

t.test('chooseBackend: containers.conf overrides; otherwise the faster one that is installed', async t => {
  const conf = chooseBackend({configured: 'pasta'})
  t.equal(conf.name, 'pasta')
  t.match(conf.reason, /containers.conf/)
  const auto = chooseBackend({})
  t.equal(auto.name, 'slirp4netns', 'slirp4netns is installed here and starts faster')
  t.match(auto.reason, /4 ms/)
  t.equal(chooseBackend({needsIpv6Publish: true}).name, 'pasta', 'IPv6 published ports need pasta')
  t.equal(chooseBackend({configured: 'slirp4netns', needsIpv6Publish: true}).name, 'slirp4netns', 'containers.conf wins (decideNetwork then refuses the IPv6 port)')
  t.throws(() => chooseBackend({configured: 'vpnkit'}), /expected slirp4netns or pasta/)
})

t.test('decideNetwork', async t => {
  const slirp = decideNetwork({request: {kind: 'default'}, ports: []})
  t.equal(slirp.mode, 'private')
  t.equal(slirp.backend, 'slirp4netns')
  t.equal(slirp.containerIp, '10.0.2.100')
  t.equal(slirp.dnsForwarder, '10.0.2.3')
  t.ok(slirp.hostGateway, 'host.containers.internal has an address')
  const loop = decideNetwork({request: {kind: 'backend', backend: 'slirp4netns', options: ['allow_host_loopback=true', 'cidr=10.0.5.0/24']}, ports: []})
  t.equal(loop.hostGateway, '10.0.5.2', 'with allow_host_loopback the gateway is the host\'s loopback')
  t.equal(loop.containerIp, '10.0.5.100')
  const pasta = decideNetwork({request: {kind: 'backend', backend: 'pasta', options: []}, ports: []})
  t.equal(pasta.backend, 'pasta')
  t.same(decideNetwork({request: {kind: 'none'}, ports: []}), {mode: 'none'})
  t.same(decideNetwork({request: {kind: 'ns', path: '/run/netns/x'}, ports: []}), {mode: 'joined', nsPath: '/run/netns/x'})
  t.same(decideNetwork({request: {kind: 'container', container: 'web'}, ports: [], lookupContainer: () => ({id: 'abc', pid: 42})}), {mode: 'joined', container: 'abc', nsPath: '/proc/42/ns/net'})
  t.throws(() => decideNetwork({request: {kind: 'container', container: 'web'}, ports: [], lookupContainer: () => ({id: 'abc'})}), /the container is not running/)
  const port = {hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const}
  t.throws(() => decideNetwork({request: {kind: 'host'}, ports: [port]}), /cannot publish ports with --network host/)
  t.throws(() => decideNetwork({request: {kind: 'none'}, ports: [port]}), /cannot publish ports with --network none/)
  t.throws(() => decideNetwork({request: {kind: 'named', name: 'x'}, ports: []}), /network x: no such network/, 'the hook for user-defined networks')
  const v6 = {...port, hostIp: '::1'}
  t.equal(decideNetwork({request: {kind: 'default'}, ports: [v6]}).backend, 'pasta', 'IPv6 publishing picks pasta')
  t.throws(() => decideNetwork({request: {kind: 'backend', backend: 'slirp4netns', options: []}, ports: [v6]}), /slirp4netns cannot publish ports on an IPv6 address/)
})

t.test('planContainerNetwork: -P, random ports, the settings', async t => {
  const plan = await planContainerNetwork({publish: [], publishAll: true, expose: ['9000'], imageExposed: {'80/tcp': {}}, rootless: true})
  t.equal(plan.ports.length, 2)
  t.ok(plan.ports.every(p => p.hostPort >= 1024))
  t.equal(plan.settings.backend, 'slirp4netns', 'published ports go through slirp4netns by default')
  await t.rejects(planContainerNetwork({publish: [{hostIp: '', hostPort: 80, containerPort: 80, protocol: 'tcp'}], publishAll: false, expose: [], rootless: true}), /ip_unprivileged_port_start/)
})

t.test('the monitor\'s arguments and what inspect shows', async t => {
  const settings = decideNetwork({request: {kind: 'default'}, ports: []})
  const ports = [{hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const}]
  t.same(monitorNetworkArgs({settings, ports}), ['--slirp4netns', '/usr/bin/slirp4netns', '--network-arg', '--mtu=65520', '--network-arg', '--disable-host-loopback', '--publish', 'tcp:8080:80'])
  t.same(monitorNetworkArgs({settings: {mode: 'none'}, ports: []}), [])
  t.same(legacySettings('private'), {mode: 'private', backend: 'slirp4netns', backendArgs: ['--mtu=65520', '--disable-host-loopback']}, 'records made before keep working')
  t.equal(networkModeName({mode: 'joined', container: 'abc'}), 'container:abc')
  t.equal(networkModeName({mode: 'none'}), 'none')
  const shown = describeNetwork({network: 'private', options: {networkSettings: settings, publish: ports, expose: ['443/tcp']}})
  t.equal(shown.networkMode, 'slirp4netns')
  t.same(shown.ports, {'443/tcp': null, '80/tcp': [{HostIp: '', HostPort: '8080'}]})
  t.equal(shown.column, '0.0.0.0:8080->80/tcp')
  t.same(describeNetwork({network: 'private', options: {}}).psPorts, null, 'an old record: no ports')
})
