// User-defined networks end to end, rootless: netavark makes the bridges in
// tspod's rootless network namespace, aardvark-dns answers names, and
// slirp4netns is the way out. Probes use busybox's nslookup and nc (its
// wget crashes in containers on this host).
import t from 'tap'
import {readFileSync, readdirSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {expectExit, fixture, makeStore, tspod, type Store} from './harness.js'
import {freePort, hostAddress, httpGet, listeningSockets, processes} from './net-harness.js'

type Test = Parameters<typeof makeStore>[0]

function runDir(store: Store, ...parts: string[]): string {
  return join(store.runroot, 'networks', ...parts)
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).filter(n => !n.startsWith('.'))
  } catch {
    return []
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim().split(' ')[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** What netavark and aardvark-dns hold for containers: attachments, namespaces and DNS entries. */
function networkState(store: Store): {attachments: string[]; netns: string[]; dnsEntries: string[]} {
  const dnsDir = runDir(store, 'rootless-netns', 'netavark', 'aardvark-dns')
  const dnsEntries = list(dnsDir)
    .filter(n => n !== 'aardvark.pid')
    .flatMap(n => readFileSync(join(dnsDir, n), 'utf8').split('\n').slice(1).filter(l => l.trim() !== ''))
  return {attachments: list(runDir(store, 'attachments')), netns: list(runDir(store, 'netns')), dnsEntries}
}

async function waitForClean(store: Store, timeoutMs = 15_000): Promise<ReturnType<typeof networkState>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const state = networkState(store)
    if ((state.attachments.length === 0 && state.netns.length === 0 && state.dnsEntries.length === 0) || Date.now() > deadline) return state
    await sleep(100)
  }
}

const clean = {attachments: [], netns: [], dnsEntries: []}

async function withNetworks(t: Test): Promise<Store> {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  t.teardown(async () => {
    await tspod(t, store, ['rm', '-af', '-t', '0'])
    // The monitors' exit commands tear down last; then the rootless network
    // namespace, which outlives the store's pause process, ends with its helpers.
    await waitForClean(store)
    const dir = runDir(store, 'rootless-netns')
    for (const file of [join(dir, 'holder.pid'), join(dir, 'slirp.pid'), join(dir, 'netavark', 'aardvark-dns', 'aardvark.pid')]) {
      const pid = readPid(file)
      if (alive(pid)) process.kill(pid!, 'SIGKILL')
    }
  })
  return store
}

/** A TCP server on the host that answers "pong", and the host address containers reach it at. */
async function hostListener(t: Test): Promise<{address: string; port: number}> {
  const address = Object.values(networkInterfaces()).flat().find(a => a && a.family === 'IPv4' && !a.internal)?.address
  if (!address) throw new Error('the host has no non-loopback IPv4 address for the egress probe')
  const server: Server = createServer(socket => socket.end('pong\n'))
  await new Promise<void>(resolve => server.listen(0, '0.0.0.0', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const port = (server.address() as {port: number}).port
  return {address, port}
}

async function ipOf(t: Test, store: Store, container: string, iface = 'eth0'): Promise<string> {
  const r = await tspod(t, store, ['exec', container, 'ip', '-4', '-o', 'addr', 'show', iface])
  expectExit(t, r, 0)
  const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)
  if (!m) throw new Error(`no IPv4 address on ${iface} of ${container}: ${r.stdout}`)
  return m[1]
}

t.test('network create, ls, inspect, exists, rm, prune and their errors', async t => {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['network', 'create', 'alpha']), 0)
  const beta = await tspod(t, store, ['network', 'create', '--subnet', '10.201.0.0/24', '--gateway', '10.201.0.254', '--ip-range', '10.201.0.128/25', '--label', 'env=test', '--internal', '--disable-dns', 'beta'])
  expectExit(t, beta, 0)
  t.equal(beta.stdout, 'beta')
  const unnamed = await tspod(t, store, ['network', 'create'])
  expectExit(t, unnamed, 0)
  t.equal(unnamed.stdout, 'podman1', 'an unnamed network is podmanN, as in Podman')

  const ls = await tspod(t, store, ['network', 'ls'])
  expectExit(t, ls, 0)
  const lines = ls.stdout.split('\n')
  t.match(lines[0], /^NETWORK ID\s+NAME\s+DRIVER$/)
  t.same(lines.slice(1).map(l => l.split(/\s+/)[1]), ['podman', 'alpha', 'beta', 'podman1'], 'the default network is listed first')
  t.match(lines[1], /^2f259bab93aa\s+podman\s+bridge$/)
  t.equal((await tspod(t, store, ['network', 'ls', '-q', '--filter', 'label=env=test'])).stdout, 'beta')
  t.equal((await tspod(t, store, ['network', 'ls', '-q', '--filter', 'name=^al'])).stdout, 'alpha')
  t.equal((await tspod(t, store, ['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Internal}} {{.DNSEnabled}}', '--filter', 'name=beta'])).stdout, 'beta bridge true false')
  const noTrunc = await tspod(t, store, ['network', 'ls', '--no-trunc', '--format', '{{.ID}}', '--filter', 'name=alpha'])
  t.match(noTrunc.stdout, /^[0-9a-f]{64}$/)
  const asJson = JSON.parse((await tspod(t, store, ['network', 'ls', '--format', 'json'])).stdout) as Array<{name: string}>
  t.same(asJson.map(n => n.name), ['podman', 'alpha', 'beta', 'podman1'])

  const inspect = await tspod(t, store, ['network', 'inspect', 'beta'])
  expectExit(t, inspect, 0)
  const [b] = JSON.parse(inspect.stdout) as Array<Record<string, unknown>>
  t.match(b, {
    name: 'beta', driver: 'bridge', network_interface: 'podman2', internal: true, dns_enabled: false, ipv6_enabled: false, labels: {env: 'test'},
    subnets: [{subnet: '10.201.0.0/24', gateway: '10.201.0.254', lease_range: {start_ip: '10.201.0.129', end_ip: '10.201.0.254'}}],
    ipam_options: {driver: 'host-local'},
  })
  t.match(b.id, /^[0-9a-f]{64}$/)
  t.match(b.created, /^\d{4}-\d\d-\d\dT/)
  const alpha = JSON.parse((await tspod(t, store, ['network', 'inspect', 'alpha'])).stdout)[0]
  t.same(alpha.subnets, [{subnet: '10.89.0.0/24', gateway: '10.89.0.1'}], 'the first free 10.89.N.0/24')
  t.equal((await tspod(t, store, ['network', 'inspect', '--format', '{{.NetworkInterface}} {{range .Subnets}}{{.Subnet}}{{end}}', 'alpha'])).stdout, 'podman1 10.89.0.0/24')

  expectExit(t, await tspod(t, store, ['network', 'exists', 'alpha']), 0)
  expectExit(t, await tspod(t, store, ['network', 'exists', 'podman']), 0)
  expectExit(t, await tspod(t, store, ['network', 'exists', 'nope']), 1)

  expectExit(t, await tspod(t, store, ['network', 'create', 'alpha']), 125, /^Error: network name alpha already used: network already exists\n.*tspod network rm alpha/m)
  expectExit(t, await tspod(t, store, ['network', 'create', '--ignore', 'alpha']), 0)
  expectExit(t, await tspod(t, store, ['network', 'create', '--subnet', '10.201.0.0/16', 'gamma']), 125, /^Error: subnet 10\.201\.0\.0\/16 is already used by network beta$/m)
  expectExit(t, await tspod(t, store, ['network', 'create', '--subnet', 'nonsense', 'gamma']), 125, /^Error: --subnet: invalid CIDR nonsense$/m)
  expectExit(t, await tspod(t, store, ['network', 'create', '-d', 'macvlan', 'gamma']), 125, /^Error: unsupported driver macvlan/m)
  expectExit(t, await tspod(t, store, ['network', 'inspect', 'nope']), 125, /^Error: unable to find network with name or ID nope: network not found$/m)
  expectExit(t, await tspod(t, store, ['network', 'rm', 'nope']), 1, /^Error: unable to find network with name or ID nope: network not found\n.*tspod network create nope/m)
  expectExit(t, await tspod(t, store, ['network', 'rm', 'podman']), 125, /^Error: default network podman cannot be removed$/m)
  expectExit(t, await tspod(t, store, ['network', 'ls', '--filter', 'colour=red']), 125, /^Error: invalid filter "colour=red"$/m)

  const rm = await tspod(t, store, ['network', 'rm', 'podman1'])
  expectExit(t, rm, 0)
  t.equal(rm.stdout, 'podman1')
  const pruneLabel = await tspod(t, store, ['network', 'prune', '-f', '--filter', 'label=env=test'])
  expectExit(t, pruneLabel, 0)
  t.equal(pruneLabel.stdout, 'beta', 'prune --filter takes only the matching networks')
  const prune = await tspod(t, store, ['network', 'prune', '-f'])
  expectExit(t, prune, 0)
  t.equal(prune.stdout, 'alpha')
  t.equal((await tspod(t, store, ['network', 'ls', '-q'])).stdout, 'podman', 'the default network stays')
})

t.test('containers on a network reach each other by name and alias; others cannot; --internal has no way out', async t => {
  const store = await withNetworks(t)
  const host = await hostListener(t)
  // As in Podman, bridges are routed to each other unless isolated; names are per network regardless.
  for (const args of [['-o', 'isolate=true', 'front'], ['-o', 'isolate=true', 'back'], ['open'], ['--internal', 'sealed']]) expectExit(t, await tspod(t, store, ['network', 'create', ...args]), 0)
  const server = ['sh', '-c', 'while true; do echo hello-from-$(hostname) | nc -l -p 8080; done']
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'web1', '--hostname', 'web1', '--network', 'front', '--network-alias', 'www', 'busybox', ...server]), 0)
  const webIp = await ipOf(t, store, 'web1')
  t.match(webIp, /^10\.89\.0\.\d+$/)

  const hosts = await tspod(t, store, ['exec', 'web1', 'cat', '/etc/hosts', '/etc/resolv.conf'])
  t.match(hosts.stdout, new RegExp(`^${webIp.replace(/\./g, '\\.')}\\tweb1 web1$`, 'm'), '/etc/hosts lists its own address and names')
  t.match(hosts.stdout, /^search dns\.podman/m)
  t.match(hosts.stdout, /^nameserver 10\.89\.0\.1$/m, 'resolv.conf points at the network\'s DNS on the gateway')

  const peer = await tspod(t, store, ['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', 'nslookup web1; nslookup www; nc -w 5 web1 8080 </dev/null; sleep 0.5; nc -w 5 www 8080 </dev/null'])
  expectExit(t, peer, 0)
  t.equal(peer.stdout.split(`Address: ${webIp}`).length - 1, 2, 'both the name and the alias resolve to web1', {stdout: peer.stdout})
  t.equal(peer.stdout.split('hello-from-web1').length - 1, 2, 'nc reaches web1 by name and by alias', {stdout: peer.stdout})

  const out = await tspod(t, store, ['run', '--rm', '--network', 'front', 'busybox', 'nc', '-w', '5', host.address, String(host.port)], {input: ''})
  expectExit(t, out, 0)
  t.equal(out.stdout, 'pong', 'a container on a network reaches the host\'s network through the rootless namespace')

  const stranger = await tspod(t, store, ['run', '--rm', '--network', 'back', 'busybox', 'sh', '-c', `nslookup web1; nc -w 2 ${webIp} 8080 </dev/null; echo nc=$?`])
  t.notMatch(stranger.stdout, `Address: ${webIp}`, 'a container on another network does not resolve web1')
  t.notMatch(stranger.stdout, /hello-from-web1/, 'nor reach it')
  t.match(stranger.stdout, /nc=1/)
  const unnamed = await tspod(t, store, ['run', '--rm', '--network', 'open', 'busybox', 'sh', '-c', 'nslookup web1; nslookup www'])
  t.notMatch(unnamed.stdout, `Address: ${webIp}`, 'names are per network: a container on a non-isolated network does not resolve them either')

  const sealed = await tspod(t, store, ['run', '--rm', '--network', 'sealed', 'busybox', 'sh', '-c', `nc -w 3 ${host.address} ${host.port} </dev/null; echo nc=$?`])
  t.notMatch(sealed.stdout, /pong/, 'an --internal network has no egress')
  t.match(sealed.stdout, /nc=1/)

  const fixed = await tspod(t, store, ['run', '--rm', '--network', 'front', '--ip', '10.89.0.77', '--mac-address', '92:d0:c6:0a:29:33', 'busybox', 'sh', '-c', 'ip -o addr show eth0; ip -o link show eth0'])
  expectExit(t, fixed, 0)
  t.match(fixed.stdout, /inet 10\.89\.0\.77\/24/, '--ip')
  t.match(fixed.stdout, /link\/ether 92:d0:c6:0a:29:33/, '--mac-address')
  expectExit(t, await tspod(t, store, ['run', '--rm', '--network', 'front', '--ip', webIp, 'busybox', 'true']), 125, new RegExp(`^Error: requested ip address ${webIp.replace(/\./g, '\\.')} is already allocated to another container on network front`, 'm'))
  expectExit(t, await tspod(t, store, ['run', '--rm', '--network', 'nowhere', 'busybox', 'true']), 125, /^Error: unable to find network with name or ID nowhere: network not found\n.*tspod network create nowhere/m)
  expectExit(t, await tspod(t, store, ['network', 'rm', 'front']), 2, /^Error: network front is being used by container web1: network is being used\n.*tspod network rm -f front/m)
})

t.test('connect and disconnect change what a running container reaches', async t => {
  const store = await withNetworks(t)
  for (const name of ['front', 'back']) expectExit(t, await tspod(t, store, ['network', 'create', '-o', 'isolate=true', name]), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'web1', '--network', 'front', 'busybox', 'sh', '-c', 'while true; do echo hello-from-web1 | nc -l -p 8080; done']), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'probe', '--network', 'back', 'busybox', 'sleep', '600']), 0)
  const webIp = await ipOf(t, store, 'web1')
  // aardvark-dns 1.4 answers a query with the names of the network it arrives on: ask front's.
  const reach = async () => (await tspod(t, store, ['exec', 'probe', 'sh', '-c', `sleep 0.5; nc -w 3 ${webIp} 8080 </dev/null; nslookup web1 10.89.0.1 || true`])).stdout

  t.notMatch(await reach(), /hello-from-web1/, 'before connect: web1 is out of reach')
  expectExit(t, await tspod(t, store, ['network', 'connect', '--alias', 'prober', 'front', 'probe']), 0)
  const connected = await reach()
  t.match(connected, /hello-from-web1/, 'after connect: web1 answers')
  t.match(connected, `Address: ${webIp}`, 'and its name resolves')
  const probeFrontIp = await ipOf(t, store, 'probe', 'eth1')
  const files = (await tspod(t, store, ['exec', 'probe', 'cat', '/etc/hosts', '/etc/resolv.conf'])).stdout
  t.match(files, new RegExp(`^${probeFrontIp.replace(/\./g, '\\.')}\\t`, 'm'), '/etc/hosts gains the new address')
  t.match(files, /^nameserver 10\.89\.0\.1$/m, 'resolv.conf gains the network\'s DNS')
  const byAlias = await tspod(t, store, ['exec', 'web1', 'nslookup', 'prober'])
  t.match(byAlias.stdout, `Address: ${probeFrontIp}`, 'the --alias given to connect resolves on that network')
  expectExit(t, await tspod(t, store, ['network', 'connect', 'front', 'probe']), 125, /^Error: container [0-9a-f]{64} is already connected to network "front"/m)

  expectExit(t, await tspod(t, store, ['network', 'disconnect', 'front', 'probe']), 0)
  t.notMatch(await reach(), /hello-from-web1/, 'after disconnect: out of reach again')
  const after = (await tspod(t, store, ['exec', 'probe', 'sh', '-c', 'ip -4 -o addr; cat /etc/hosts /etc/resolv.conf'])).stdout
  t.notMatch(after, probeFrontIp, 'the address is gone from the interfaces and /etc/hosts')
  t.notMatch(after, /nameserver 10\.89\.0\.1/)
  expectExit(t, await tspod(t, store, ['network', 'disconnect', 'front', 'probe']), 125, /is not connected to network front/)

  const rmForce = await tspod(t, store, ['network', 'rm', '-f', 'front'])
  expectExit(t, rmForce, 0)
  t.equal(rmForce.stdout, 'front')
  expectExit(t, await tspod(t, store, ['container', 'exists', 'web1']), 1, undefined)
})

t.test('nothing of a container stays in netavark or aardvark-dns after it exits or its monitor is killed', async t => {
  const store = await withNetworks(t)
  expectExit(t, await tspod(t, store, ['network', 'create', 'front']), 0)
  const run = await tspod(t, store, ['run', '--rm', '--network', 'front', 'busybox', 'true'])
  expectExit(t, run, 0)
  t.same(await waitForClean(store), clean, 'run --rm: torn down')

  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'stopped', '--network', 'front', 'busybox', 'sleep', '600']), 0)
  t.equal(networkState(store).attachments.length, 1)
  t.equal(networkState(store).dnsEntries.length, 1, 'aardvark-dns knows the running container')
  expectExit(t, await tspod(t, store, ['stop', '-t', '0', 'stopped']), 0)
  t.same(await waitForClean(store), clean, 'stop: torn down')

  expectExit(t, await tspod(t, store, ['start', 'stopped']), 0)
  const id = (await tspod(t, store, ['inspect', '--format', '{{.Id}}', 'stopped'])).stdout
  const state = JSON.parse(readFileSync(join(store.root, 'containers', id, 'state.json'), 'utf8')) as {pid: number; monitorPid: number}
  process.kill(state.monitorPid, 'SIGKILL')
  process.kill(state.pid, 'SIGKILL')
  await sleep(200)
  expectExit(t, await tspod(t, store, ['network', 'ls', '-q']), 0)
  t.same(networkState(store), clean, 'monitor and container killed: the next use sweeps what they left')
})

t.test('a killed rootless network namespace holder is rebuilt on the next use', async t => {
  const store = await withNetworks(t)
  const host = await hostListener(t)
  expectExit(t, await tspod(t, store, ['network', 'create', 'front']), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'old', '--network', 'front', '--network-alias', 'elder', 'busybox', 'sleep', '600']), 0)
  const holderFile = runDir(store, 'rootless-netns', 'holder.pid')
  const holder = readPid(holderFile)
  t.ok(alive(holder), 'a holder process keeps the rootless network namespace')
  process.kill(holder!, 'SIGKILL')
  await sleep(100)

  const fresh = await tspod(t, store, ['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', `nslookup elder; nc -w 5 ${host.address} ${host.port} </dev/null`])
  expectExit(t, fresh, 0)
  t.match(fresh.stdout, /Address: 10\.89\.0\.\d+/, 'the running container was re-attached: its alias resolves')
  t.match(fresh.stdout, /pong/, 'egress works through the new namespace')
  const rebuilt = readPid(holderFile)
  t.not(rebuilt, holder, 'a new holder')
  t.ok(alive(rebuilt))
  const old = await tspod(t, store, ['exec', 'old', 'nc', '-w', '5', host.address, String(host.port)], {input: ''})
  t.equal(old.stdout, 'pong', 'the container that ran before the rebuild reaches out again')
})

t.test('-p on a user-defined network: served by tspod-portfwd on the addresses asked for, gone with the container', async t => {
  const store = await withNetworks(t)
  expectExit(t, await tspod(t, store, ['network', 'create', 'pubnet']), 0)
  const [port, podPort] = [await freePort(), await freePort()]
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'pubweb', '--network', 'pubnet', '-p', `${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']), 0)
  t.match(await httpGet(`http://127.0.0.1:${port}/passwd`), /^root:/m, 'a loopback client reaches the container')
  t.match(await httpGet(`http://${hostAddress()}:${port}/passwd`), /^root:/m, 'so does a client of the host\'s own address')
  t.match(listeningSockets(port), /tspod-portfwd/, 'the forwarder holds the port')
  const ports = await tspod(t, store, ['port', 'pubweb'])
  t.match(ports.stdout, new RegExp(`80/tcp -> 0\\.0\\.0\\.0:${port}`))
  expectExit(t, await tspod(t, store, ['run', '--rm', '--network', 'pubnet', '-p', `[::1]:${await freePort()}:80`, 'busybox', 'true']), 125, /^Error: cannot publish \[::1\]:\d+ for a container on a user-defined network: tspod-portfwd forwards IPv4 addresses only/m)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'second', '--network', 'pubnet', '-p', `${port}:80`, 'busybox', 'sleep', '100']), 125, new RegExp(`^Error: network: cannot publish 0\\.0\\.0\\.0:${port}/tcp: bind: address already in use`, 'm'))

  expectExit(t, await tspod(t, store, ['pod', 'create', '--name', 'netpod', '--network', 'pubnet', '-p', `${podPort}:80`]), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--pod', 'netpod', '--name', 'podweb', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']), 0)
  t.match(await httpGet(`http://127.0.0.1:${podPort}/passwd`), /^root:/m, 'a pod on a user-defined network publishes its ports too')

  expectExit(t, await tspod(t, store, ['rm', '-f', '-t', '0', 'pubweb']), 0)
  expectExit(t, await tspod(t, store, ['pod', 'rm', '-f', 'netpod']), 0)
  for (let i = 0; i < 30 && (listeningSockets(port) || listeningSockets(podPort)); i++) await sleep(100)
  t.equal(listeningSockets(port) + listeningSockets(podPort), '', 'no socket of theirs is left')
  t.same(processes().filter(p => p.comm === 'tspod-portfwd' && p.state !== 'Z'), [], 'nor a forwarder')
})
