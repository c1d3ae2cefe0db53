// The loopback forwarder end to end (docs/networking.md, "Clients on the
// host's loopback"): a client on 127.0.0.1 is served by tspod-portfwd from
// inside the container's namespace and the container sees 127.0.0.1, while a
// client of another address still goes through the backend and keeps its
// own; udp answers reach a loopback client with either backend; streams end
// cleanly in both directions (half-close included) and arrive whole; and
// neither the forwarder nor its sockets outlive the container, even when the
// monitor is killed with SIGKILL.
import t, {type Test} from 'tap'
import {createHash, randomBytes} from 'node:crypto'
import {connect} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {expectExit, fixture, makeStore, tspod, type Store} from './harness.js'
import {freePort, hostAddress, httpGet, listeningSockets as sockets, processes, udpAsk} from './net-harness.js'

const WEB = ['sh', '-c', 'mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -v -p 80 -h /www']
/* Answers each datagram with "pong:" and what came, and logs who sent it. */
const UDP_ECHO = 'use IO::Socket::INET; $|=1; my $s = IO::Socket::INET->new(LocalPort => 5353, Proto => "udp") or die "bind: $!"; print "ready\\n"; while ($s->recv(my $m, 1000)) { print "from ", $s->peerhost, "\\n"; $s->send("pong:$m") }'

async function withImages(t: Test): Promise<Store> {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  expectExit(t, await tspod(t, store, ['import', fixture('debian-bookworm-rootfs.tar'), 'debian']), 0)
  t.teardown(async () => {
    await tspod(t, store, ['rm', '-af', '-t', '0'])
  })
  return store
}

async function waitNoSocket(port: number, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = sockets(port)
    if (found === '' || Date.now() > deadline) return found
    await sleep(50)
  }
}

/** Live processes named tspod-portfwd whose parent is pid (all of them when pid is omitted). */
function forwarders(parent?: number): number[] {
  return processes().filter(p => p.comm === 'tspod-portfwd' && p.state !== 'Z' && (parent === undefined || p.ppid === parent)).map(p => p.pid)
}

async function waitGone(pids: number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const alive = pids.filter(pid => forwarders().includes(pid))
    if (alive.length === 0 || Date.now() > deadline) return alive
    await sleep(50)
  }
}

/**
 * Connects to 127.0.0.1:port, writes payload, half-closes, and collects what
 * comes back until the server's own end of stream. Retries (while the server
 * in the container comes up) up to retries times.
 */
async function exchange(port: number, payload: Buffer, {timeoutMs = 30_000, retries = 30} = {}): Promise<{data: Buffer; ended: boolean; error?: string}> {
  for (let attempt = 0; ; attempt++) {
    const result = await new Promise<{data: Buffer; ended: boolean; error?: string}>(resolve => {
      const chunks: Buffer[] = []
      const socket = connect({host: '127.0.0.1', port, allowHalfOpen: true})
      const timer = setTimeout(() => {
        socket.destroy()
        resolve({data: Buffer.concat(chunks), ended: false, error: 'timed out'})
      }, timeoutMs)
      socket.on('connect', () => socket.end(payload))
      socket.on('data', chunk => chunks.push(chunk))
      socket.on('end', () => {
        clearTimeout(timer)
        socket.destroy()
        resolve({data: Buffer.concat(chunks), ended: true})
      })
      socket.on('error', err => {
        clearTimeout(timer)
        resolve({data: Buffer.concat(chunks), ended: false, error: err.message})
      })
    })
    if (result.ended || attempt >= retries) return result
    await sleep(100)
  }
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex')

t.test('tcp: a loopback client reaches the container through tspod-portfwd and appears as 127.0.0.1; the host\'s address still goes through slirp4netns', async t => {
  const store = await withImages(t)
  const port = await freePort()
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'fweb', '--hostname', 'fweb', '-p', `${port}:80`, 'busybox', ...WEB]), 0)
  t.equal(await httpGet(`http://127.0.0.1:${port}/`), 'hello-from-fweb', 'through the loopback')
  const address = hostAddress()
  t.equal(await httpGet(`http://${address}:${port}/`), 'hello-from-fweb', `through ${address}`)
  const listening = sockets(port)
  t.match(listening, new RegExp(`127\\.0\\.0\\.1:${port} .*tspod-portfwd`), 'the forwarder listens on 127.0.0.1')
  t.match(listening, new RegExp(`0\\.0\\.0\\.0:${port} .*slirp4netns`), 'slirp4netns listens on every address')
  const logs = await tspod(t, store, ['logs', 'fweb'])
  const log = logs.stdout + logs.stderr
  t.match(log, /\[(::ffff:)?127\.0\.0\.1\]:\d+: response:200/, 'httpd saw the loopback client as 127.0.0.1')
  t.match(log, new RegExp(`\\[(::ffff:)?${address.replaceAll('.', '\\.')}\\]:\\d+: response:200`), `httpd saw the other client as ${address}`)
  t.notMatch(log, /10\.0\.2\.2/, 'nobody appears as slirp\'s host address')
})

t.test('tcp: -p 127.0.0.1:PORT is the forwarder\'s alone', async t => {
  const store = await withImages(t)
  const port = await freePort()
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'lweb', '--hostname', 'lweb', '-p', `127.0.0.1:${port}:80`, 'busybox', ...WEB]), 0)
  t.equal(await httpGet(`http://127.0.0.1:${port}/`), 'hello-from-lweb')
  const listening = sockets(port)
  t.match(listening, /tspod-portfwd/)
  t.notMatch(listening, /slirp4netns/, 'slirp4netns does not listen on it')
  t.equal((await tspod(t, store, ['port', 'lweb'])).stdout, `80/tcp -> 127.0.0.1:${port}`)
})

t.test('tcp: streams arrive whole and end cleanly both ways, half-close included', async t => {
  const store = await withImages(t)
  const port = await freePort()
  const port2 = await freePort()
  // md5sum answers only after the client's end of stream: the half-close must get through.
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'fstream', '-p', `${port}:7000`, '-p', `${port2}:7001`, 'busybox', 'sh', '-c',
    'nc -ll -p 7000 -e md5sum & exec nc -ll -p 7001 -e sh -c "head -c 20000000 /dev/zero"']), 0)
  const payload = randomBytes(20_000_000)
  const up = await exchange(port, payload)
  t.equal(up.error, undefined, 'no error')
  t.ok(up.ended, 'the server\'s end of stream reaches the client')
  t.equal(up.data.toString().split(' ')[0], md5(payload), '20 MB in: the container got every byte')
  const down = await exchange(port2, Buffer.alloc(0))
  t.ok(down.ended, 'the stream from the container ends')
  t.equal(down.data.length, 20_000_000, '20 MB out')
  t.ok(down.data.every(b => b === 0), 'as sent')
  for (let i = 0; i < 20; i++) {
    const small = await exchange(port, Buffer.from(`request ${i}\n`))
    if (!small.ended || small.data.toString().split(' ')[0] !== md5(Buffer.from(`request ${i}\n`))) {
      t.fail(`short exchange ${i}: ${JSON.stringify(small)}`)
      return
    }
  }
  t.pass('20 short connections in a row end cleanly')
})

t.test('tcp: nothing listening in the container: the client is refused at once, not left hanging', async t => {
  const store = await withImages(t)
  const port = await freePort()
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'fnone', '-p', `${port}:80`, 'busybox', 'sleep', '600']), 0)
  const started = Date.now()
  const result = await exchange(port, Buffer.from('x'), {timeoutMs: 10_000, retries: 0})
  t.equal(result.data.length, 0, 'no data')
  t.match(result.error, /ECONNRESET|EPIPE/, 'the connection is reset, as the container refused it')
  t.ok(Date.now() - started < 9000, 'over well before the timeout')
})

t.test('udp: a client on 127.0.0.1 gets its answer (slirp4netns, pasta, and -p 127.0.0.1:PORT), and the container sees 127.0.0.1', async t => {
  const store = await withImages(t)
  const address = hostAddress()
  const cases: Array<{name: string; args: string[]; published: string}> = [
    {name: 'uslirp', args: [], published: ''},
    {name: 'upasta', args: ['--network', 'pasta'], published: ''},
    {name: 'uloop', args: [], published: '127.0.0.1:'},
  ]
  for (const c of cases) {
    const port = await freePort()
    expectExit(t, await tspod(t, store, ['run', '-d', '--name', c.name, ...c.args, '-p', `${c.published}${port}:5353/udp`, 'debian', 'perl', '-e', UDP_ECHO]), 0)
    t.equal(await udpAsk('127.0.0.1', port), 'pong:ping', `${c.name}: the answer comes back to 127.0.0.1`)
    if (c.published === '') t.equal(await udpAsk(address, port), 'pong:ping', `${c.name}: and to ${address}`)
    t.match(sockets(port), new RegExp(`127\\.0\\.0\\.1:${port} .*tspod-portfwd`), `${c.name}: the forwarder holds 127.0.0.1`)
    const logs = await tspod(t, store, ['logs', c.name])
    t.match(logs.stdout, /^from 127\.0\.0\.1$/m, `${c.name}: the container saw 127.0.0.1`)
  }
})

t.test('no leaks: after stop, kill, exit and a SIGKILL of the monitor, no forwarder or socket survives', async t => {
  const store = await withImages(t)
  const monitorOf = async (name: string) => Number((await tspod(t, store, ['inspect', '--format', '{{.State.ConmonPid}}', name])).stdout)
  const start = async (name: string, network: string, command: string[]) => {
    const port = await freePort()
    expectExit(t, await tspod(t, store, ['run', '-d', '--name', name, '--network', network, '-p', `${port}:80`, '-p', `${port}:80/udp`, 'busybox', ...command]), 0)
    const monitor = await monitorOf(name)
    const pids = forwarders(monitor)
    t.equal(pids.length, 1, `${name}: the monitor runs one forwarder`)
    t.match(sockets(port), /tspod-portfwd/, `${name}: it holds the loopback sockets`)
    return {port, monitor, pids}
  }
  for (const network of ['slirp4netns', 'pasta']) {
    const a = await start(`fkill9-${network}`, network, WEB)
    t.equal(await httpGet(`http://127.0.0.1:${a.port}/`), `hello-from-${(await tspod(t, store, ['inspect', '--format', '{{.Config.Hostname}}', `fkill9-${network}`])).stdout}`)
    process.kill(a.monitor, 'SIGKILL')
    t.same(await waitGone(a.pids), [], `${network}: the forwarder ends with its monitor`)
    t.equal(await waitNoSocket(a.port), '', `${network}: no socket left on ${a.port} after SIGKILL of the monitor`)
    await tspod(t, store, ['rm', '-f', `fkill9-${network}`])

    const b = await start(`fstop-${network}`, network, WEB)
    expectExit(t, await tspod(t, store, ['stop', '-t', '0', `fstop-${network}`]), 0)
    t.same(await waitGone(b.pids), [], `${network}: the forwarder ends at stop`)
    t.equal(await waitNoSocket(b.port), '', `${network}: no socket left after stop`)

    const c = await start(`fkill-${network}`, network, WEB)
    expectExit(t, await tspod(t, store, ['kill', `fkill-${network}`]), 0)
    expectExit(t, await tspod(t, store, ['wait', `fkill-${network}`]), 0)
    t.same(await waitGone(c.pids), [], `${network}: the forwarder ends at kill`)
    t.equal(await waitNoSocket(c.port), '', `${network}: no socket left after kill`)

    const d = await start(`fexit-${network}`, network, ['sleep', '2'])
    expectExit(t, await tspod(t, store, ['wait', `fexit-${network}`]), 0)
    t.same(await waitGone(d.pids), [], `${network}: the forwarder ends when the container exits`)
    t.equal(await waitNoSocket(d.port), '', `${network}: no socket left after the exit`)
  }
})
