/** The -p parser in every Podman form, -P, the checks made at create, and how ports are displayed. */
import t from 'tap'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {
  assignHostPorts,
  checkMappings,
  exposedPortMappings,
  findPublished,
  formatPortLines,
  formatPortsColumn,
  inspectPorts,
  ipFamily,
  mergeMappings,
  monitorPublishArgs,
  parsePublish,
  readUnprivilegedPortStart,
  recordedMappings,
  type PortMapping,
} from '../../../src/network/ports.js'

const m = (hostPort: number, containerPort: number, protocol: 'tcp' | 'udp' = 'tcp', hostIp = ''): PortMapping => ({hostIp, hostPort, containerPort, protocol})

t.test('parsePublish: every form Podman accepts', async t => {
  t.same(parsePublish('8080:80'), [m(8080, 80)], 'HOST:CONTAINER')
  t.same(parsePublish('80'), [m(0, 80)], 'a container port alone gets a random host port')
  t.same(parsePublish('127.0.0.1:8080:80'), [m(8080, 80, 'tcp', '127.0.0.1')], 'IP:HOST:CONTAINER')
  t.same(parsePublish('127.0.0.1::80'), [m(0, 80, 'tcp', '127.0.0.1')], 'IP::CONTAINER: random port on that address')
  t.same(parsePublish('0.0.0.0:8080:80'), [m(8080, 80)], '0.0.0.0 is every address, as no address')
  t.same(parsePublish('8080:80/udp'), [m(8080, 80, 'udp')], '/udp')
  t.same(parsePublish('8080:80/TCP'), [m(8080, 80)], 'protocol case-insensitive')
  t.same(parsePublish('8080:80/tcp,udp'), [m(8080, 80), m(8080, 80, 'udp')], 'both protocols')
  t.same(parsePublish('8000-8001:80-81'), [m(8000, 80), m(8001, 81)], 'ranges map port by port')
  t.same(parsePublish('80-81'), [m(0, 80), m(0, 81)], 'a container range alone: random host ports')
  t.same(parsePublish('[::1]:8080:80'), [m(8080, 80, 'tcp', '::1')], 'bracketed IPv6')
  t.same(parsePublish('[::1]:8080:80/udp'), [m(8080, 80, 'udp', '::1')], 'bracketed IPv6 with protocol')
  t.same(parsePublish('[fd00::2]::80'), [m(0, 80, 'tcp', 'fd00::2')], 'IPv6 with a random port')
})

t.test('parsePublish: malformed values name the value and the problem', async t => {
  const bad: Array<[string, RegExp]> = [
    ['8080:80/sctp', /protocol "sctp" is not supported/],
    ['8080:0', /container port 0 is out of range/],
    ['70000:80', /host port 70000 is out of range/],
    ['8000-8002:80-81', /differ in length/],
    ['81-80', /ends before it starts/],
    ['x:80', /host port "x" is not a port number/],
    ['1.2.3:8080:80', /"1.2.3" is not an IP address/],
    ['::1:8080:80', /IPv6 address must be in brackets/],
    ['[::1]8080:80', /expected \[IPv6\]:HOSTPORT:CONTAINERPORT/],
    ['', /is not a port number/],
  ]
  for (const [spec, message] of bad) {
    t.throws(() => parsePublish(spec), message, spec)
    t.throws(() => parsePublish(spec), InvalidArgumentError)
  }
  t.throws(() => parsePublish('8080:80/sctp'), {message: 'invalid port format "8080:80/sctp": protocol "sctp" is not supported'}, 'word for word')
})

t.test('ipFamily', async t => {
  for (const ip of ['127.0.0.1', '0.0.0.0', '255.255.255.255']) t.equal(ipFamily(ip), 4, ip)
  for (const ip of ['::', '::1', 'fd00::2', '2001:db8::1:2', '1:2:3:4:5:6:7:8', '::ffff:1.2.3.4']) t.equal(ipFamily(ip), 6, ip)
  for (const ip of ['', '256.1.1.1', '01.2.3.4', '1.2.3', 'host', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1']) t.equal(ipFamily(ip), 0, ip || '(empty)')
})

t.test('-P: exposed ports, merged with -p', async t => {
  t.same(exposedPortMappings({'80/tcp': {}, '53/udp': {}}), [m(0, 80), m(0, 53, 'udp')])
  t.same(exposedPortMappings(undefined, ['9000-9001']), [m(0, 9000), m(0, 9001)], '--expose ranges, tcp by default')
  t.same(mergeMappings([m(8080, 80)], [m(0, 80), m(0, 443)]), [m(8080, 80), m(0, 443)], '-p wins for the same port')
})

t.test('checkMappings: duplicates and the unprivileged port limit', async t => {
  t.doesNotThrow(() => checkMappings([m(8080, 80), m(8080, 80, 'udp'), m(0, 81), m(0, 82)], {rootless: true, unprivilegedPortStart: 1024}), 'same port, two protocols')
  t.throws(() => checkMappings([m(8080, 80), m(8080, 81)], {rootless: false}), /host port 8080\/tcp is published twice/)
  t.throws(() => checkMappings([m(8080, 80, 'tcp', '127.0.0.1'), m(8080, 81)], {rootless: false}), /published twice/, 'an address and every address collide')
  t.doesNotThrow(() => checkMappings([m(8080, 80, 'tcp', '127.0.0.1'), m(8080, 81, 'tcp', '127.0.0.2')], {rootless: false}), 'two addresses, one port')
  t.throws(
    () => checkMappings([m(80, 80)], {rootless: true, unprivilegedPortStart: 1024}),
    {message: 'cannot publish host port 80/tcp: rootless containers cannot bind ports below 1024 (net.ipv4.ip_unprivileged_port_start)'},
    'names the sysctl',
  )
  t.doesNotThrow(() => checkMappings([m(80, 80)], {rootless: true, unprivilegedPortStart: 80}), 'a lowered limit is honoured')
  t.doesNotThrow(() => checkMappings([m(80, 80)], {rootless: false}), 'root may')
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ports-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  writeFileSync(join(dir, 'start'), '443\n')
  t.equal(readUnprivilegedPortStart(join(dir, 'start')), 443)
  t.equal(readUnprivilegedPortStart(join(dir, 'missing')), 1024, 'the kernel default when unreadable')
})

t.test('assignHostPorts picks free, distinct ports and keeps given ones', async t => {
  const out = await assignHostPorts([m(18123, 80), m(0, 81), m(0, 82), m(0, 53, 'udp')])
  t.equal(out[0].hostPort, 18123)
  for (const p of out.slice(1)) t.ok(p.hostPort > 0 && p.hostPort < 65536, `port ${p.hostPort}`)
  t.not(out[1].hostPort, out[2].hostPort)
})

t.test('display: ps column, port lines, inspect, monitor arguments', async t => {
  const ports = [m(8000, 80), m(8001, 81), m(8080, 8080, 'tcp', '127.0.0.1'), m(5353, 53, 'udp'), m(9000, 90, 'tcp', '::1')]
  t.equal(formatPortsColumn(ports), '0.0.0.0:8000-8001->80-81/tcp, [::1]:9000->90/tcp, 127.0.0.1:8080->8080/tcp, 0.0.0.0:5353->53/udp')
  t.same(formatPortLines([m(8080, 80), m(5353, 53, 'udp')]), ['80/tcp -> 0.0.0.0:8080', '53/udp -> 0.0.0.0:5353'])
  t.same(findPublished(ports, '80'), ['0.0.0.0:8000'])
  t.same(findPublished(ports, '53/udp'), ['0.0.0.0:5353'])
  t.same(findPublished(ports, '53'), [], 'tcp by default')
  t.equal(findPublished(ports, 'x'), undefined)
  t.same(inspectPorts([m(8080, 80)], ['443/tcp']), {'443/tcp': null, '80/tcp': [{HostIp: '', HostPort: '8080'}]})
  t.same(monitorPublishArgs([m(8080, 80), m(9000, 90, 'udp', '::1')]), ['--publish', 'tcp:8080:80', '--publish', 'udp:9000:90:::1'])
  t.same(recordedMappings([m(1, 2), {junk: true}, 'x']), [m(1, 2)])
  t.same(recordedMappings(undefined), [])
})
