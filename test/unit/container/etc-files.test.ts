/** /etc/hosts and /etc/resolv.conf as each network and each of --dns, --dns-search, --dns-option, --add-host and --no-hosts makes them. */
import t from 'tap'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {addHostLine, hostsFor, resolvConfFor, writeEtcFiles} from '../../../src/container/etc-files.js'
import type {NetworkSettings} from '../../../src/network/backend.js'

const dir = mkdtempSync(join(tmpdir(), 'tspod-etc-'))
t.teardown(() => rmSync(dir, {recursive: true, force: true}))
const hostResolv = join(dir, 'host-resolv.conf')
writeFileSync(hostResolv, '# comment\nsearch example.com corp\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n')
const loopbackOnly = join(dir, 'loopback-resolv.conf')
writeFileSync(loopbackOnly, 'nameserver 127.0.0.53\n')

const slirp: NetworkSettings = {mode: 'private', backend: 'slirp4netns', containerIp: '10.0.2.100', hostGateway: '192.0.2.2', dnsForwarder: '10.0.2.3'}

t.test('resolv.conf', async t => {
  t.equal(resolvConfFor({network: slirp}, hostResolv), 'search example.com corp\nnameserver 192.0.2.53\noptions edns0\n', 'the host\'s, without its loopback resolver')
  t.equal(resolvConfFor({network: slirp}, loopbackOnly), 'nameserver 10.0.2.3\n', 'only a loopback resolver: slirp4netns\'s forwarder')
  t.equal(resolvConfFor({network: {mode: 'host'}}, hostResolv), 'search example.com corp\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n', 'host: as is')
  t.equal(
    resolvConfFor({network: slirp, dns: ['1.1.1.1', '2606:4700::1111'], dnsSearch: ['a.test', 'b.test'], dnsOptions: ['ndots:2', 'timeout:1']}, hostResolv),
    'search a.test b.test\nnameserver 1.1.1.1\nnameserver 2606:4700::1111\noptions ndots:2 timeout:1\n',
    '--dns, --dns-search and --dns-option replace the host\'s',
  )
  t.equal(resolvConfFor({network: slirp, dnsSearch: ['.']}, hostResolv), 'nameserver 192.0.2.53\noptions edns0\n', '--dns-search=. clears the search list')
  t.throws(() => resolvConfFor({network: slirp, dns: ['dns.example']}, hostResolv), /invalid --dns "dns.example": not an IP address/)
})

t.test('hosts', async t => {
  t.equal(
    hostsFor({hostname: 'abc', name: 'web', network: slirp, addHosts: ['db:10.1.1.1', 'gw:host-gateway', 'v6:fd00::9', 'a;b:10.2.2.2']}),
    [
      '10.1.1.1\tdb',
      '192.0.2.2\tgw',
      'fd00::9\tv6',
      '10.2.2.2\ta b',
      '127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4',
      '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6',
      '10.0.2.100\tabc web',
      '192.0.2.2\thost.containers.internal',
      '',
    ].join('\n'),
  )
  const none = hostsFor({hostname: 'abc', name: 'web', network: {mode: 'none'}})
  t.notMatch(none, /host\.containers\.internal/, 'no way to the host with --network none')
  t.match(none, /127\.0\.1\.1\tabc web/)
  t.throws(() => addHostLine('gw:host-gateway', undefined), /has no route to the host/)
  t.throws(() => addHostLine('db', '1.1.1.1'), /expected HOST:IP/)
  t.throws(() => addHostLine('db:nope', '1.1.1.1'), /"nope" is not an IP address/)
  t.equal(addHostLine('v6:[::1]', undefined), '::1\tv6', 'brackets allowed')
})

t.test('writeEtcFiles: --no-hosts and --dns none leave the image\'s files', async t => {
  const out = join(dir, 'c1')
  const {mkdirSync} = await import('node:fs')
  mkdirSync(out)
  const files = await writeEtcFiles(out, {hostname: 'h', name: 'n', network: slirp, noHosts: true, dns: ['none']})
  t.equal(files.hosts, undefined)
  t.equal(files.resolvConf, undefined)
  t.notOk(existsSync(join(out, 'hosts')))
  t.equal(readFileSync(files.hostname, 'utf8'), 'h\n')
  const full = await writeEtcFiles(out, {hostname: 'h', name: 'n', network: slirp})
  t.match(readFileSync(full.hosts!, 'utf8'), /10\.0\.2\.100\th n/)
  t.ok(existsSync(full.resolvConf!))
})
