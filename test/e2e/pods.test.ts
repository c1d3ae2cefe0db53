// Pods end to end, through the built CLI as the unprivileged user, on one
// store for the whole file: create/ls/inspect/exists/rm/prune and their
// errors; two containers of one pod reaching each other on 127.0.0.1 and
// sharing a hostname; a pod sharing only ipc keeps networks apart; the pod's
// published port reaching a member; stop/start/restart/kill/rm -f leaving no
// monitor, infra process or mount behind; `pod logs` interleaving with
// prefixes; `pod top`; `run --pod new:NAME`; ps --pod; rm of an infra
// container refused.
import t from 'tap'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {connect} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {expectExit, fixture, makeStore, requireUser, tspod, type Store} from './harness.js'
import {freePort} from './net-harness.js'

const store: Store = makeStore(t)
// execa drops the last newline of stdout; every command here ends its output with one, so it is put back and outputs compare whole.
const run = async (args: string[]) => {
  const result = await tspod(t, store, args)
  return {...result, stdout: result.stdout === '' ? '' : `${result.stdout}\n`}
}

/**
 * The store's monitors once they have had up to 3 s to finish: a monitor
 * completes its cleanup (runtime delete, unmount) just after the command that
 * stopped its container returns, by design.
 */
async function lingeringMonitors(): Promise<string[]> {
  for (let i = 0; i < 60 && storeMonitors().length > 0; i++) await new Promise(r => setTimeout(r, 50))
  return storeMonitors()
}

/** The store's monitors still alive (their command lines name the store). */
function storeMonitors(): string[] {
  const out: string[] = []
  for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    } catch {
      continue
    }
    if (cmdline.includes('tspod-monitor') && cmdline.includes(store.root)) out.push(`${pid} ${cmdline}`)
  }
  return out
}

/** Whether a pid still names a /tspod-infra process. */
function infraAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/tspod-infra')
  } catch {
    return false
  }
}

/** Mounts of the store's rootfs overlays, as tspod's own mount namespace has them. */
async function storeMounts(): Promise<string[]> {
  const result = await run(['unshare', 'cat', '/proc/self/mountinfo'])
  return result.stdout.split('\n').filter(l => l.includes(`${store.root}/containers`))
}

async function infraPid(pod: string): Promise<number> {
  const id = (await run(['pod', 'inspect', '--format', '{{.InfraContainerID}}', pod])).stdout.trim()
  return Number((await run(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim())
}

/** What a TCP server on the host's loopback port answers, retried while it comes up. */
async function tcpGet(port: number): Promise<string> {
  let last = ''
  for (let i = 0; i < 30; i++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1')
        let data = ''
        socket.on('data', chunk => (data += chunk.toString()))
        socket.on('error', reject)
        socket.on('close', () => (data ? resolve(data.trim()) : reject(new Error('closed without data'))))
        socket.end('x\n')
      })
    } catch (err) {
      last = (err as Error).message
      await sleep(100)
    }
  }
  return `no answer: ${last}`
}

t.before(async () => {
  expectExit(t, await run(['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
})

t.teardown(async () => {
  await run(['pod', 'rm', '-af', '-t', '0'])
  await run(['rm', '-af', '-t', '0'])
})

t.test('create, ls, inspect, exists, rm and their errors', async t => {
  const created = await run(['pod', 'create', '--name', 'basic', '--label', 'team=a', '--hostname', 'basic-host'])
  expectExit(t, created, 0)
  const id = created.stdout.trim()
  t.match(id, /^[a-f0-9]{64}$/, 'pod create prints the full ID')

  expectExit(t, await run(['pod', 'create', '--name', 'basic']), 125, /name "basic" is in use by pod/)
  expectExit(t, await run(['pod', 'create', '--name', 'bad/name']), 125, /pod name "bad\/name" is invalid/)
  expectExit(t, await run(['pod', 'create', '--share', 'bogus']), 125, /invalid kernel namespace to share: bogus/)
  expectExit(t, await run(['pod', 'create', '--infra=false', '-p', '8080:80']), 125, /you must have an infra container to publish port bindings/)

  const ls = await run(['pod', 'ls'])
  expectExit(t, ls, 0)
  t.match(ls.stdout, /^POD ID\s+NAME\s+STATUS\s+CREATED\s+INFRA ID\s+# OF CONTAINERS\n/, 'default columns')
  t.match(ls.stdout, new RegExp(`${id.slice(0, 12)}\\s+basic\\s+Created\\s+.*\\s+[a-f0-9]{12}\\s+1\\n`))

  const json = JSON.parse((await run(['pod', 'ps', '--format', 'json'])).stdout) as Array<Record<string, unknown>>
  const mine = json.find(p => p.Name === 'basic')!
  t.equal(mine.Id, id)
  t.equal(mine.Status, 'Created')
  t.same(mine.Labels, {team: 'a'})
  t.equal((mine.Containers as unknown[]).length, 1, 'the infra container is listed')

  const tmpl = await run(['pod', 'ps', '--filter', 'label=team=a', '--format', '{{.Name}} {{.NumberOfContainers}} {{.Status}}'])
  t.equal(tmpl.stdout, 'basic 1 Created\n')
  t.equal((await run(['pod', 'ps', '--filter', 'name=^nothing$', '-q'])).stdout, '')
  t.equal((await run(['pod', 'ps', '-q', '--no-trunc', '--filter', `id=${id.slice(0, 8)}`])).stdout, `${id}\n`)
  const names = await run(['pod', 'ps', '--ctr-names', '--ctr-status', '--filter', 'name=basic'])
  t.match(names.stdout, /INFRA ID\s+NAMES\s+STATUS\n/)
  t.match(names.stdout, new RegExp(`${id.slice(0, 12)}-infra\\s+created\\n`))

  const inspect = JSON.parse((await run(['pod', 'inspect', 'basic'])).stdout) as Record<string, unknown>
  t.equal(inspect.Id, id)
  t.equal(inspect.Hostname, 'basic-host')
  t.same(inspect.SharedNamespaces, ['net', 'ipc', 'uts'])
  t.equal(inspect.NumContainers, 1)
  t.equal((await run(['pod', 'inspect', '--format', '{{.Name}} {{.State}}', id.slice(0, 12)])).stdout, 'basic Created\n')
  expectExit(t, await run(['pod', 'inspect', 'nope']), 125, 'no pod with name or ID nope found: no such pod')

  expectExit(t, await run(['pod', 'exists', 'basic']), 0)
  expectExit(t, await run(['pod', 'exists', 'nope']), 1)

  const infraId = inspect.InfraContainerID as string
  expectExit(t, await run(['rm', infraId]), 125, `container ${infraId} is the infra container of pod ${id} and cannot be removed without removing the pod`)
  const ps = await run(['ps', '-a', '--pod', '--filter', 'pod=basic'])
  t.match(ps.stdout, /POD ID\s+PODNAME\n/, 'ps --pod adds the pod columns')
  t.match(ps.stdout, new RegExp(`${id.slice(0, 12)}-infra\\s+${id.slice(0, 12)}\\s+basic\\n`))

  expectExit(t, await run(['pod', 'rm', 'nope']), 1, 'no pod with name or ID nope found: no such pod')
  expectExit(t, await run(['pod', 'rm', '--ignore', 'nope']), 0)
  const rm = await run(['pod', 'rm', 'basic'])
  expectExit(t, rm, 0)
  t.equal(rm.stdout, `${id}\n`)
  expectExit(t, await run(['pod', 'exists', 'basic']), 1)
  t.equal((await run(['ps', '-aq', '--filter', `name=${id.slice(0, 12)}-infra`])).stdout, '', 'the infra container went with the pod')
})

t.test('containers of one pod share the network and the hostname', async t => {
  const port = await freePort()
  expectExit(t, await run(['pod', 'create', '--name', 'web', '-p', `${port}:8080`]), 0)
  expectExit(t, await run(['run', '-d', '--pod', 'web', '--name', 'web-srv', '--stop-timeout', '1', 'busybox', 'sh', '-c', 'echo serving; while true; do nc -l -p 8080 -e echo hi-from-$(hostname); done']), 0)
  const client = await run(['run', '--rm', '--pod', 'web', '--name', 'web-cli', 'busybox', 'sh', '-c', 'hostname; for i in 1 2 3 4 5 6 7 8 9 10; do echo | nc 127.0.0.1 8080 && exit 0; sleep 0.2; done; exit 1'])
  expectExit(t, client, 0)
  t.equal(client.stdout, 'web\nhi-from-web\n', 'the second container reaches the first on 127.0.0.1 and has the pod\'s hostname')
  t.equal(await tcpGet(port), 'hi-from-web', 'the pod\'s published port reaches its member')
  const ports = await run(['ps', '--filter', 'name=web-srv', '--format', '{{.Names}} {{.Ports}} {{.PodName}}'])
  t.equal(ports.stdout, `web-srv 0.0.0.0:${port}->8080/tcp web\n`, 'ps shows a member with the pod\'s ports, as Podman does')

  expectExit(t, await run(['run', '--pod', 'web', '--name', 'web-log', 'busybox', 'sh', '-c', 'echo one; sleep 0.2; echo two']), 0)
  const logs = await run(['pod', 'logs', '--names', 'web'])
  expectExit(t, logs, 0)
  t.equal(logs.stdout, 'web-srv serving\nweb-log one\nweb-log two\n', 'pod logs interleaves by time, prefixed with names')
  const byId = await run(['pod', 'logs', '-c', 'web-log', 'web'])
  t.match(byId.stdout, /^[a-f0-9]{12} one\n[a-f0-9]{12} two\n$/, 'without --names the prefix is the short ID')

  const top = await run(['pod', 'top', 'web'])
  expectExit(t, top, 0)
  t.match(top.stdout, /^USER\s+PID\s+PPID\s+%CPU\s+ELAPSED\s+TTY\s+TIME\s+COMMAND\n/)
  t.match(top.stdout, /\/tspod-infra/)
  t.match(top.stdout, /nc -l -p 8080|sh -c echo serving/)

  const status = await run(['pod', 'ps', '--filter', 'name=^web$', '--format', '{{.Status}}'])
  t.equal(status.stdout, 'Degraded\n', 'web-log exited, the rest runs')

  // The infra's pid changes on every start: members must follow it.
  expectExit(t, await run(['pod', 'restart', 'web']), 0)
  t.equal(await tcpGet(port), 'hi-from-web', 'after a restart the port still reaches the member')

  const infra = await infraPid('web')
  t.ok(infraAlive(infra), 'the infra process runs')
  const stop = await run(['pod', 'stop', '-t', '1', 'web'])
  expectExit(t, stop, 0)
  t.equal((await run(['pod', 'ps', '--filter', 'name=^web$', '--format', '{{.Status}}'])).stdout, 'Exited\n')
  t.same(await lingeringMonitors(), [], 'no monitor is left')
  t.notOk(infraAlive(infra), 'the infra process is gone')
  t.same(await storeMounts(), [], 'no rootfs stays mounted')

  expectExit(t, await run(['pod', 'start', 'web']), 0)
  t.equal(await tcpGet(port), 'hi-from-web', 'pod start brings the members back')
  expectExit(t, await run(['pod', 'kill', 'web']), 0)
  expectExit(t, await run(['pod', 'start', 'web']), 0)
  expectExit(t, await run(['pod', 'rm', 'web']), 2, /has running containers/)
  const infraAgain = await infraPid('web')
  expectExit(t, await run(['pod', 'rm', '-f', 'web']), 0)
  t.same(await lingeringMonitors(), [], 'pod rm -f leaves no monitor')
  t.notOk(infraAlive(infraAgain), 'nor the infra process')
  t.same(await storeMounts(), [], 'nor a mount')
  t.equal((await run(['ps', '-aq', '--filter', 'pod=web'])).stdout, '')
  const check = await run(['system', 'check'])
  expectExit(t, check, 0)
})

t.test('a pod sharing only ipc keeps the networks apart', async t => {
  expectExit(t, await run(['pod', 'create', '--name', 'ipconly', '--share', 'ipc']), 0)
  expectExit(t, await run(['run', '-d', '--pod', 'ipconly', '--name', 'ipc-a', 'busybox', 'sleep', '60']), 0)
  const ns = (args: string[]) => run(args).then(r => r.stdout.trim().split('\n').map(l => l.replace(/^.*-> /, '')))
  const script = 'ls -l /proc/self/ns/net /proc/self/ns/ipc'
  const a = await ns(['exec', 'ipc-a', 'sh', '-c', script])
  const b = await ns(['run', '--rm', '--pod', 'ipconly', 'busybox', 'sh', '-c', script])
  t.equal(a.length, 2)
  t.equal(a[0], b[0], 'same ipc namespace')
  t.not(a[1], b[1], 'different network namespaces')
  expectExit(t, await run(['run', '--rm', '--pod', 'ipconly', '-p', `${await freePort()}:80`, 'busybox', 'true']), 0)
  expectExit(t, await run(['pod', 'rm', '-f', 'ipconly']), 0)
})

t.test('a container joining a pod that shares its network cannot publish', async t => {
  expectExit(t, await run(['pod', 'create', '--name', 'noports']), 0)
  expectExit(t, await run(['run', '--rm', '--pod', 'noports', '-p', '9999:80', 'busybox', 'true']), 125, 'invalid config provided: published or exposed ports must be defined when the pod is created')
  expectExit(t, await run(['run', '--rm', '--pod', 'noports', '--hostname', 'x', 'busybox', 'true']), 125, 'cannot set hostname when joining the pod UTS namespace')
  expectExit(t, await run(['run', '--rm', '--pod', 'nope', 'busybox', 'true']), 125, 'no pod with name or ID nope found')
  expectExit(t, await run(['pod', 'rm', 'noports']), 0)
})

t.test('run --pod new:NAME, prune', async t => {
  const out = await run(['run', '--rm', '--pod', 'new:fresh', 'busybox', 'hostname'])
  expectExit(t, out, 0)
  t.equal(out.stdout, 'fresh\n', 'the new pod shares its name as hostname')
  expectExit(t, await run(['pod', 'exists', 'fresh']), 0)
  expectExit(t, await run(['pod', 'create', '--name', 'idle']), 0)
  expectExit(t, await run(['pod', 'stop', 'fresh']), 0)
  const pruned = await run(['pod', 'prune', '-f'])
  expectExit(t, pruned, 0)
  t.equal(pruned.stdout.trim().split('\n').length, 2, 'both stopped pods are pruned')
  t.equal((await run(['pod', 'ps', '-q'])).stdout, '')
  t.equal((await run(['ps', '-aq'])).stdout, '', 'their infra containers went too')
  t.same(await storeMounts(), [])
})

t.test('pod create options: --share +pid, --userns, --infra=false, --replace, ID and pid files', async t => {
  expectExit(t, await run(['pod', 'create', '--name', 'pids', '--share', '+pid']), 0)
  expectExit(t, await run(['run', '-d', '--pod', 'pids', '--name', 'pids-sleep', 'busybox', 'sleep', '60']), 0)
  const ps = await run(['run', '--rm', '--pod', 'pids', 'busybox', 'ps', '-o', 'pid,args'])
  t.match(ps.stdout, /^PID\s+COMMAND\n\s*1 \/tspod-infra\n\s*\d+ sleep 60\n/, 'with pid shared, the infra is PID 1 and the others see each other')

  expectExit(t, await run(['pod', 'pause', 'pids']), 125, /cannot pause pod pids: its containers have no cgroup whose freezer could stop them/)
  const replaced = await run(['pod', 'create', '--replace', '--name', 'pids'])
  expectExit(t, replaced, 0)
  t.equal((await run(['pod', 'inspect', '--format', '{{.Id}} {{.NumContainers}}', 'pids'])).stdout, `${replaced.stdout.trim()} 1\n`, '--replace removed the running pod and its container')
  t.equal((await run(['ps', '-aq', '--filter', 'name=pids-sleep'])).stdout, '')

  const keep = await run(['pod', 'create', '--name', 'keep', '--userns', 'keep-id'])
  expectExit(t, keep, 0)
  const id = await run(['run', '--rm', '--pod', 'keep', 'busybox', 'sh', '-c', 'id -u; hostname'])
  expectExit(t, id, 0)
  t.equal(id.stdout, `${requireUser().uid}\nkeep\n`, 'keep-id maps the user into the pod\'s containers, which join the infra\'s user namespace')

  expectExit(t, await run(['pod', 'create', '--name', 'bare', '--infra=false']), 0)
  t.equal((await run(['pod', 'inspect', '--format', '{{.CreateInfra}} {{.NumContainers}}', 'bare'])).stdout, 'false 0\n')
  const bare = await run(['run', '--rm', '--pod', 'bare', 'busybox', 'hostname'])
  expectExit(t, bare, 0)
  t.match(bare.stdout, /^[a-f0-9]{12}\n$/, 'without infra nothing is shared: the container keeps its own hostname')

  const idFile = `${store.dir}/pod-id`
  const pidFile = `${store.dir}/infra-pid`
  const made = await run(['pod', 'create', '--name', 'files', '--pod-id-file', idFile, '--infra-conmon-pidfile', pidFile])
  expectExit(t, made, 0)
  expectExit(t, await run(['pod', 'create', '--pod-id-file', idFile]), 125, `writing the pod ID to ${idFile}: file exists`)
  expectExit(t, await run(['run', '-d', '--pod-id-file', idFile, 'busybox', 'sleep', '60']), 0)
  const monitorPid = readFileSync(pidFile, 'utf8').trim()
  t.match(monitorPid, /^\d+$/, 'the infra\'s monitor pid is written at start')
  t.match(readFileSync(`/proc/${monitorPid}/cmdline`, 'utf8'), /tspod-monitor/)
  expectExit(t, await run(['pod', 'rm', '-f', '--pod-id-file', idFile]), 0)
  expectExit(t, await run(['pod', 'exists', 'files']), 1)
  t.notOk(existsSync(idFile), 'pod rm removes the pod ID file, so a unit can create the pod again')
  expectExit(t, await run(['pod', 'rm', '-f', 'pids', 'keep', 'bare']), 0)
})

t.test('pod create --network NAME: the pod joins a user-defined network, under its own name', async t => {
  expectExit(t, await run(['network', 'create', '--subnet', '10.89.31.0/24', 'podnet']), 0)
  expectExit(t, await run(['pod', 'create', '--name', 'onnet', '--network', 'podnet']), 0)
  expectExit(t, await run(['run', '-d', '--pod', 'onnet', '--name', 'onnet-srv', 'busybox', 'sh', '-c', 'while true; do nc -l -p 80 -e echo hi-from-pod; done']), 0)
  const addr = await run(['run', '--rm', '--pod', 'onnet', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])
  t.match(addr.stdout, /inet 10\.89\.31\.\d+\/24/, 'members have the pod\'s address on the network')
  const peer = await run(['run', '--rm', '--network', 'podnet', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo | nc onnet 80 && exit 0; sleep 0.2; done; exit 1'])
  expectExit(t, peer, 0)
  t.equal(peer.stdout, 'hi-from-pod\n', 'another container on the network reaches the pod by its name')
  expectExit(t, await run(['pod', 'create', '--name', 'nonet', '--infra=false', '--network', 'podnet']), 125, 'cannot set a network for a pod without an infra container')
  expectExit(t, await run(['pod', 'create', '--network', 'nosuchnet']), 125, /nosuchnet/)
  expectExit(t, await run(['pod', 'rm', '-f', '-t', '0', 'onnet']), 0)
  expectExit(t, await run(['network', 'rm', 'podnet']), 0)
})

t.test('--exit-policy=stop: the pod stops when its last container exits', async t => {
  expectExit(t, await run(['pod', 'create', '--name', 'ep', '--exit-policy', 'stop']), 0)
  expectExit(t, await run(['run', '-d', '--pod', 'ep', '--name', 'ep-short', 'busybox', 'sleep', '1']), 0)
  let status = ''
  for (let i = 0; i < 50 && status !== 'Exited\n'; i++) {
    await sleep(100)
    status = (await run(['pod', 'ps', '--filter', 'name=^ep$', '--format', '{{.Status}}'])).stdout
  }
  t.equal(status, 'Exited\n', 'the infra stopped after ep-short exited')
  expectExit(t, await run(['pod', 'create', '--exit-policy', 'sometimes']), 125, 'Error: invalid argument "sometimes" for "--exit-policy" flag: must be one of continue, stop')
  expectExit(t, await run(['pod', 'rm', 'ep']), 0)
})

t.test('pod rm -a removes every pod', async t => {
  expectExit(t, await run(['pod', 'create', '--name', 'all-1']), 0)
  expectExit(t, await run(['pod', 'create', '--name', 'all-2']), 0)
  expectExit(t, await run(['run', '-d', '--pod', 'all-2', 'busybox', 'sleep', '60']), 0)
  expectExit(t, await run(['pod', 'rm', '-a']), 2, /has running containers/)
  expectExit(t, await run(['pod', 'exists', 'all-1']), 1)
  const rm = await run(['pod', 'rm', '-a', '-f', '-t', '0'])
  expectExit(t, rm, 0)
  t.equal((await run(['pod', 'ps', '-q'])).stdout, '')
  t.equal((await run(['ps', '-aq'])).stdout, '')
})

t.test('rm -a takes pods along', async t => {
  expectExit(t, await run(['pod', 'create', '--name', 'gone']), 0)
  expectExit(t, await run(['create', '--pod', 'gone', '--name', 'gone-member', 'busybox', 'true']), 0)
  expectExit(t, await run(['create', '--name', 'loose', 'busybox', 'true']), 0)
  const rm = await run(['rm', '-a'])
  expectExit(t, rm, 0)
  t.equal(rm.stdout.trim().split('\n').length, 3, 'the member, the loose container and the infra')
  expectExit(t, await run(['pod', 'exists', 'gone']), 1)
  t.equal((await run(['ps', '-aq'])).stdout, '')
})
