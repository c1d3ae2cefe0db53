// Rootless networking end to end, through the built CLI as the unprivileged
// user: published ports (tcp, udp, ranges, -P, IPv6 through pasta), the
// client's address as the container sees it (from a client in a network
// namespace of its own, behind a veth pair: a real remote client), the
// generated /etc/hosts and /etc/resolv.conf, --network none, host, pasta and
// container:, egress to the Debian mirror, the errors for a port in use and
// for a privileged port, and that no backend process or listening socket
// outlives its container, even when the monitor is killed with SIGKILL.
//
// busybox's wget crashes in its static glibc resolver here: the container
// side uses nslookup and nc; the HTTP server is busybox httpd, whose -v log
// names each client.
import t, {type Test} from 'tap'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {expectExit, fixture, MIRROR_FETCH, makeStore, requireRoot, tspod, type Store} from './harness.js'
import {freePort, hostAddress, httpGet, listeningSockets as listeners, processes, udpAsk, type Proc} from './net-harness.js'

const WEB = ['sh', '-c', 'mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -v -p 80 -h /www']

async function withImages(t: Test, debian = false): Promise<Store> {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', '--change', 'EXPOSE 80', '--change', 'EXPOSE 81/tcp', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  if (debian) expectExit(t, await tspod(t, store, ['import', fixture('debian-bookworm-rootfs.tar'), 'debian']), 0)
  t.teardown(async () => {
    await tspod(t, store, ['rm', '-af', '-t', '0'])
  })
  return store
}

const isBackend = (p: Proc) => p.comm === 'slirp4netns' || p.comm.startsWith('passt') || p.comm === 'pasta' || p.comm === 'tspod-netguard'

/** The network backend (and pasta's guard) the container's monitor runs. */
function backendsOf(monitorPid: number): Proc[] {
  return processes().filter(p => p.ppid === monitorPid && isBackend(p))
}

/** Waits until none of pids is alive (a zombie waiting for a late-reaping PID 1 holds nothing and counts as gone). */
async function waitGone(pids: number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const alive = processes().filter(p => pids.includes(p.pid) && p.state !== 'Z').map(p => p.pid)
    if (alive.length === 0 || Date.now() > deadline) return alive
    await sleep(50)
  }
}

async function waitNoListener(port: number, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = listeners(port)
    if (found === '' || Date.now() > deadline) return found
    await sleep(50)
  }
}

async function inspectField(t: Test, store: Store, name: string, format: string): Promise<string> {
  const r = await tspod(t, store, ['inspect', '--format', format, name])
  expectExit(t, r, 0)
  return r.stdout
}

/** A client with an address of its own: a network namespace behind a veth pair, made by root. */
function makeRemoteClient(t: Test): {netns: string; hostAddress: string; clientAddress: string} {
  const tag = Math.random().toString(16).slice(2, 7)
  const netns = `tspodc${tag}`
  const hostIf = `tsh${tag}`
  const clientIf = `tsc${tag}`
  // An octet from the tag keeps parallel runs apart; TEST-NET-2 is never routed.
  const net = parseInt(tag.slice(0, 2), 16) % 60
  const hostAddress = `198.51.100.${net * 4 + 1}`
  const clientAddress = `198.51.100.${net * 4 + 2}`
  const ip = (...args: string[]) => execFileSync('ip', args, {stdio: 'pipe'})
  ip('netns', 'add', netns)
  t.teardown(() => {
    try {
      ip('link', 'del', hostIf)
    } catch {
      // went with the namespace
    }
    ip('netns', 'del', netns)
  })
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', clientIf)
  ip('link', 'set', clientIf, 'netns', netns)
  ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf)
  ip('link', 'set', hostIf, 'up')
  ip('-n', netns, 'addr', 'add', `${clientAddress}/30`, 'dev', clientIf)
  ip('-n', netns, 'link', 'set', clientIf, 'up')
  ip('-n', netns, 'link', 'set', 'lo', 'up')
  return {netns, hostAddress, clientAddress}
}

function hostHasIpv6Loopback(): boolean {
  return existsSync('/proc/net/if_inet6') && /^0{31}1 /m.test(readFileSync('/proc/net/if_inet6', 'utf8'))
}

t.test('-p publishes a tcp port: curl reaches httpd, and port, ps and inspect show it', async t => {
  const store = await withImages(t)
  const port = await freePort()
  const run = await tspod(t, store, ['run', '-d', '--name', 'web', '--hostname', 'web', '-p', `${port}:80`, 'busybox', ...WEB])
  expectExit(t, run, 0)
  t.equal(await httpGet(`http://127.0.0.1:${port}/`), 'hello-from-web', 'IPv4 through slirp4netns, the default')
  t.match(listeners(port), /slirp4netns/, 'slirp4netns itself listens on every address (127.0.0.1 is tspod-portfwd\'s: network-forward.test.ts)')
  const portOut = await tspod(t, store, ['port', 'web'])
  expectExit(t, portOut, 0)
  t.equal(portOut.stdout, `80/tcp -> 0.0.0.0:${port}`)
  const one = await tspod(t, store, ['port', 'web', '80/tcp'])
  t.equal(one.stdout, `0.0.0.0:${port}`)
  expectExit(t, await tspod(t, store, ['port', 'web', '81']), 125, /^Error: failed to find published port "81\/tcp"$/)
  const all = await tspod(t, store, ['port', '-a'])
  t.match(all.stdout, new RegExp(`^[0-9a-f]{64}\\n80/tcp -> 0\\.0\\.0\\.0:${port}$`))
  const ps = await tspod(t, store, ['ps', '--format', '{{.Names}} {{.Ports}}'])
  t.equal(ps.stdout, `web 0.0.0.0:${port}->80/tcp`)
  t.equal(await inspectField(t, store, 'web', '{{json .NetworkSettings.Ports}}'), `{"80/tcp":[{"HostIp":"","HostPort":"${port}"}]}`)
  t.equal(await inspectField(t, store, 'web', '{{.HostConfig.NetworkMode}}'), 'slirp4netns')
  expectExit(t, await tspod(t, store, ['rm', '-f', 'web']), 0)
  t.equal(await waitNoListener(port), '', 'the port is free again after rm -f')
})

t.test('the container sees the client\'s own address (slirp4netns and pasta)', async t => {
  if (!requireRoot(t, 'a remote client needs a veth pair and a network namespace')) return
  const store = await withImages(t)
  const client = makeRemoteClient(t)
  for (const network of ['slirp4netns', 'pasta']) {
    const port = await freePort()
    const name = `src-${network}`
    expectExit(t, await tspod(t, store, ['run', '-d', '--name', name, '--hostname', name, '--network', network, '-p', `${port}:80`, 'busybox', ...WEB]), 0)
    t.equal(await httpGet(`http://${client.hostAddress}:${port}/`, {netns: client.netns, tries: 20}), `hello-from-${name}`, `${network}: the remote client gets the page`)
    const logs = await tspod(t, store, ['logs', name])
    t.match(logs.stdout + logs.stderr, new RegExp(`\\[(::ffff:)?${client.clientAddress.replaceAll('.', '\\.')}\\]:\\d+: response:200`), `${network}: httpd saw ${client.clientAddress}`)
    expectExit(t, await tspod(t, store, ['rm', '-f', name]), 0)
  }
})

t.test('pasta: published ports, IPv6 on ::1, and egress', async t => {
  const store = await withImages(t)
  const port = await freePort()
  const args = ['run', '-d', '--name', 'pweb', '--hostname', 'pweb', '--network', 'pasta', '-p', `${port}:80`]
  const v6 = hostHasIpv6Loopback()
  const port6 = await freePort()
  if (v6) args.push('-p', `[::1]:${port6}:80`)
  expectExit(t, await tspod(t, store, [...args, 'busybox', ...WEB]), 0)
  t.equal(await httpGet(`http://127.0.0.1:${port}/`), 'hello-from-pweb')
  t.match(listeners(port), /passt|pasta/, 'pasta itself listens')
  if (v6) {
    t.equal(await httpGet(`http://[::1]:${port6}/`), 'hello-from-pweb', 'IPv6 published port')
    t.equal((await tspod(t, store, ['port', 'pweb'])).stdout, `80/tcp -> 0.0.0.0:${port}\n80/tcp -> [::1]:${port6}`)
  } else {
    t.fail('this host has no IPv6 loopback: the IPv6 case cannot run')
  }
  t.equal(await inspectField(t, store, 'pweb', '{{.HostConfig.NetworkMode}}'), 'pasta')
  const v6slirp = await tspod(t, store, ['run', '--rm', '--network', 'slirp4netns', '-p', `[::1]:${port6 + 1}:80`, 'busybox', 'true'])
  expectExit(t, v6slirp, 125, /slirp4netns cannot publish ports on an IPv6 address/)
  const auto = await tspod(t, store, ['create', '--name', 'v6auto', '-p', `[::1]:${port6 + 1}:80`, 'busybox', 'true'])
  expectExit(t, auto, 0)
  t.equal(await inspectField(t, store, 'v6auto', '{{.HostConfig.NetworkMode}}'), 'pasta', 'an IPv6 published port picks pasta by itself')
})

t.test('-P, port ranges and random host ports', async t => {
  const store = await withImages(t)
  const all = await tspod(t, store, ['run', '-d', '--name', 'pall', '--hostname', 'pall', '-P', 'busybox', 'sh', '-c',
    'mkdir -p /a /b && echo eighty > /a/index.html && echo eighty-one > /b/index.html && httpd -p 81 -h /b && exec httpd -f -p 80 -h /a'])
  expectExit(t, all, 0)
  const lines = (await tspod(t, store, ['port', 'pall'])).stdout.split('\n')
  t.equal(lines.length, 2, 'both EXPOSE\'d ports are published')
  const hostPort = (containerPort: number) => Number(lines.find(l => l.startsWith(`${containerPort}/tcp`))?.split(':').pop())
  t.ok(hostPort(80) >= 1024 && hostPort(81) >= 1024 && hostPort(80) !== hostPort(81), `random ports ${hostPort(80)} and ${hostPort(81)}`)
  t.equal(await httpGet(`http://127.0.0.1:${hostPort(80)}/`), 'eighty')
  t.equal(await httpGet(`http://127.0.0.1:${hostPort(81)}/`), 'eighty-one')

  const base = await freePort()
  const range = await tspod(t, store, ['run', '-d', '--name', 'prange', '-p', `${base}-${base + 1}:80-81`, 'busybox', 'sh', '-c',
    'mkdir -p /a /b && echo r80 > /a/index.html && echo r81 > /b/index.html && httpd -p 81 -h /b && exec httpd -f -p 80 -h /a'])
  if (range.code === 125 && /address already in use/.test(range.stderr)) {
    t.comment(`port ${base + 1} was taken meanwhile; retrying with another range`)
  }
  expectExit(t, range, 0)
  t.equal(await httpGet(`http://127.0.0.1:${base}/`), 'r80')
  t.equal(await httpGet(`http://127.0.0.1:${base + 1}/`), 'r81')
  t.equal((await tspod(t, store, ['ps', '--filter', 'name=prange', '--format', '{{.Ports}}'])).stdout, `0.0.0.0:${base}-${base + 1}->80-81/tcp`)

  const random = await tspod(t, store, ['run', '-d', '--name', 'prand', '-p', '127.0.0.1::80', 'busybox', ...WEB])
  expectExit(t, random, 0)
  const picked = (await tspod(t, store, ['port', 'prand', '80'])).stdout
  t.match(picked, /^127\.0\.0\.1:\d+$/)
  t.match(await httpGet(`http://${picked}/`), /^hello-from-/)
})

t.test('udp: -p HOST:CONTAINER/udp', async t => {
  const store = await withImages(t, true)
  const port = await freePort()
  // Answers to a client on the host's loopback get lost in both backends here (docs/networking.md, Limits): use the host's address.
  const server = 'use IO::Socket::INET; $|=1; my $s = IO::Socket::INET->new(LocalPort => 5353, Proto => "udp") or die "bind: $!"; print "ready\\n"; while ($s->recv(my $m, 1000)) { $s->send("pong:$m") }'
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'udp', '-p', `${port}:5353/udp`, 'debian', 'perl', '-e', server]), 0)
  t.equal((await tspod(t, store, ['port', 'udp'])).stdout, `5353/udp -> 0.0.0.0:${port}`)
  t.equal(await udpAsk(hostAddress(), port), 'pong:ping', 'a datagram goes in and the answer comes back')
})

t.test('errors: a port in use, a privileged port, -p with --network none or host', async t => {
  const store = await withImages(t)
  const blocker: Server = createServer()
  await new Promise<void>(resolve => blocker.listen(0, '0.0.0.0', resolve))
  t.teardown(() => new Promise(resolve => blocker.close(resolve)))
  const busy = (blocker.address() as {port: number}).port
  const inUse = await tspod(t, store, ['run', '-d', '--name', 'busy', '-p', `${busy}:80`, 'busybox', ...WEB])
  expectExit(t, inUse, 125, new RegExp(`^Error: network: cannot publish 0\\.0\\.0\\.0:${busy}/tcp: bind: address already in use$`, 'm'))
  t.notMatch(listeners(busy), /slirp4netns|passt/, 'no backend was left listening')
  expectExit(t, await tspod(t, store, ['run', '--rm', '-p', '80:80', 'busybox', 'true']), 125,
    /^Error: cannot publish host port 80\/tcp: rootless containers cannot bind ports below \d+ \(net\.ipv4\.ip_unprivileged_port_start\)$/m)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--network', 'none', '-p', '8080:80', 'busybox', 'true']), 125, /cannot publish ports with --network none/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--network', 'host', '-p', '8080:80', 'busybox', 'true']), 125, /cannot publish ports with --network host/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '-p', '8080:80/sctp', 'busybox', 'true']), 125, /invalid port format "8080:80\/sctp": protocol "sctp" is not supported/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--network', 'slirp4netns:port_handler=rootlesskit', 'busybox', 'true']), 125, /port_handler=rootlesskit: not available/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']), 125, /nosuchnet/)
})

t.test('/etc/hosts and /etc/resolv.conf follow --dns*, --add-host, --no-hosts and --hostname', async t => {
  const store = await withImages(t)
  const r = await tspod(t, store, ['run', '--rm', '--name', 'dnsbox', '--hostname', 'box', '--dns', '192.0.2.53', '--dns', '2001:db8::53', '--dns-search', 'a.test',
    '--dns-search', 'b.test', '--dns-option', 'ndots:3', '--add-host', 'db:10.9.9.9', '--add-host', 'gw:host-gateway', 'busybox', 'sh', '-c', 'cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname'])
  expectExit(t, r, 0)
  const [resolv, hosts, hostname] = r.stdout.split('\n---\n')
  t.equal(resolv, 'search a.test b.test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:3')
  t.match(hosts, /^10\.9\.9\.9\tdb$/m)
  const gateway = /^(\S+)\thost\.containers\.internal$/m.exec(hosts)?.[1]
  t.ok(gateway, 'host.containers.internal is listed')
  t.match(hosts, new RegExp(`^${gateway?.replaceAll('.', '\\.')}\\tgw$`, 'm'), 'host-gateway is host.containers.internal\'s address')
  t.match(hosts, /^10\.0\.2\.100\tbox dnsbox$/m, 'the container\'s own address, hostname and name')
  t.equal(hostname, 'box')
  const noHosts = await tspod(t, store, ['run', '--rm', '--no-hosts', 'busybox', 'sh', '-c', 'cat /etc/hosts 2>/dev/null; echo end'])
  expectExit(t, noHosts, 0)
  t.notMatch(noHosts.stdout, /host\.containers\.internal/, '--no-hosts keeps the image\'s /etc/hosts')
  expectExit(t, await tspod(t, store, ['run', '--rm', '--no-hosts', '--add-host', 'a:1.2.3.4', 'busybox', 'true']), 125, /--no-hosts and --add-host cannot be set together/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--add-host', 'a:nope', 'busybox', 'true']), 125, /invalid --add-host "a:nope"/)
})

t.test('host.containers.internal reaches a service on the host', async t => {
  const store = await withImages(t)
  const server = createServer(socket => socket.end('host-service\n'))
  await new Promise<void>(resolve => server.listen(0, '0.0.0.0', resolve))
  t.teardown(() => {
    server.close()
  })
  const port = (server.address() as {port: number}).port
  // Only the answer matters: this pasta sometimes loses the server's FIN (docs/networking.md), so nc is cut short.
  const script = `ip=$(awk '/host\\.containers\\.internal/{print $1}' /etc/hosts); echo | timeout -s KILL 10 nc $ip ${port} | head -1`
  for (const network of ['slirp4netns', 'pasta']) {
    const r = await tspod(t, store, ['run', '--rm', '--network', network, 'busybox', 'sh', '-c', script])
    expectExit(t, r, 0)
    t.equal(r.stdout, 'host-service', `${network}: the host's service answers`)
  }
})

t.test('--network none, host, container: and egress to the Debian mirror', async t => {
  const store = await withImages(t)
  const none = await tspod(t, store, ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo $(ls /sys/class/net | sort)'])
  expectExit(t, none, 0)
  t.equal(none.stdout, 'lo', '--network none has only loopback')
  const host = await tspod(t, store, ['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'echo $(ls /sys/class/net | sort)'])
  expectExit(t, host, 0)
  t.equal(host.stdout, readdirSync('/sys/class/net').sort().join(' '), '--network host sees the host\'s interfaces')

  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'holder', '--hostname', 'holder', 'busybox', ...WEB]), 0)
  const joined = await tspod(t, store, ['run', '--rm', '--network', 'container:holder', 'busybox', 'sh', '-c',
    'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 127.0.0.1 80 | tail -1'])
  expectExit(t, joined, 0)
  t.equal(joined.stdout, 'hello-from-holder', 'container: shares the other container\'s network namespace')
  t.equal(await inspectField(t, store, 'holder', '{{.HostConfig.NetworkMode}}'), 'slirp4netns')

  // HTTP/1.0 to the mirror answers (426 Upgrade Required, or 200): proof that packets went out and came back.
  const fetch = MIRROR_FETCH
  for (const network of ['slirp4netns', 'pasta']) {
    let out = await tspod(t, store, ['run', '--rm', '--network', network, 'busybox', 'sh', '-c', fetch])
    for (let i = 0; i < 2 && !/HTTP\//.test(out.stdout); i++) {
      await sleep(2000)
      out = await tspod(t, store, ['run', '--rm', '--network', network, 'busybox', 'sh', '-c', fetch])
    }
    expectExit(t, out, 0)
    t.match(out.stdout, /^HTTP\/1\.[01] \d{3} /, `${network} reaches deb.debian.org`)
  }
})

t.test('no leaks: after stop, exit, and a SIGKILL of the monitor, no backend process or listening socket survives', async t => {
  const store = await withImages(t)
  for (const network of ['slirp4netns', 'pasta']) {
    const port = await freePort()
    const name = `leak-${network}`
    expectExit(t, await tspod(t, store, ['run', '-d', '--name', name, '--network', network, '-p', `${port}:80`, 'busybox', ...WEB]), 0)
    t.match(await httpGet(`http://127.0.0.1:${port}/`), /^hello-from-/)
    const monitor = Number(await inspectField(t, store, name, '{{.State.ConmonPid}}'))
    const backends = backendsOf(monitor).map(p => p.pid)
    t.ok(backends.length >= 1, `${network}: the monitor runs the backend (${backends.join(', ')})`)
    process.kill(monitor, 'SIGKILL')
    t.same(await waitGone(backends), [], `${network}: the backend ends with its monitor`)
    t.equal(await waitNoListener(port), '', `${network}: nothing listens on ${port} any more`)
    await tspod(t, store, ['rm', '-f', name])

    const port2 = await freePort()
    const short = `exit-${network}`
    expectExit(t, await tspod(t, store, ['run', '-d', '--name', short, '--network', network, '-p', `${port2}:80`, 'busybox', 'sh', '-c', 'httpd -p 80 && sleep 1']), 0)
    const monitor2 = Number(await inspectField(t, store, short, '{{.State.ConmonPid}}'))
    const backends2 = backendsOf(monitor2).map(p => p.pid)
    expectExit(t, await tspod(t, store, ['wait', short]), 0)
    t.same(await waitGone(backends2), [], `${network}: the backend ends when the container exits`)
    t.equal(await waitNoListener(port2), '', `${network}: the port is closed when the container exits`)

    const port3 = await freePort()
    const killed = `kill-${network}`
    expectExit(t, await tspod(t, store, ['run', '-d', '--name', killed, '--network', network, '-p', `${port3}:80`, 'busybox', ...WEB]), 0)
    const monitor3 = Number(await inspectField(t, store, killed, '{{.State.ConmonPid}}'))
    const backends3 = backendsOf(monitor3).map(p => p.pid)
    expectExit(t, await tspod(t, store, ['kill', killed]), 0)
    expectExit(t, await tspod(t, store, ['wait', killed]), 0)
    t.same(await waitGone(backends3), [], `${network}: the backend ends when the container is killed`)
    t.equal(await waitNoListener(port3), '', `${network}: the port is closed after kill`)
  }
})
