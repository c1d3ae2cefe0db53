// Containers end to end, rootless through the real monitor and runtime:
// run, create/start, stop/kill, rm, ps, logs, wait, inspect, rename, volumes.
import t from 'tap'
import {readFileSync} from 'node:fs'
import {expectExit, fixture, MIRROR_FETCH, makeStore, runAsUser, tspod, type Store} from './harness.js'

async function withImage(t: Parameters<typeof makeStore>[0]): Promise<Store> {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', '--change', 'CMD ["/bin/sh"]', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  t.teardown(async () => {
    await tspod(t, store, ['rm', '-af', '-t', '0'])
  })
  return store
}

t.test('run: output, exit codes, --rm', async t => {
  const store = await withImage(t)
  const hello = await tspod(t, store, ['run', '--rm', 'busybox', 'echo', 'hello'])
  expectExit(t, hello, 0)
  t.equal(hello.stdout, 'hello')
  const split = await tspod(t, store, ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'])
  expectExit(t, split, 3)
  t.equal(split.stdout, 'out')
  t.equal(split.stderr, 'err')
  expectExit(t, await tspod(t, store, ['run', '--rm', 'busybox', 'nosuchcommand']), 127, /executable file `nosuchcommand` not found/)
  expectExit(t, await tspod(t, store, ['run', '--rm', 'busybox', '/etc/passwd']), 126, /[Pp]ermission denied/)
  expectExit(t, await tspod(t, store, ['run', '--rm', 'nosuchimage']), 125, /short-name "nosuchimage" did not resolve to an alias/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--pull=never', 'nosuchimage']), 125, /^Error: nosuchimage: image not known/m)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--bogus', 'busybox']), 125, /^Error: unknown flag: --bogus/m)
  const ps = await tspod(t, store, ['ps', '-a', '-q'])
  t.equal(ps.stdout, '', '--rm containers are gone')
  const input = await tspod(t, store, ['run', '--rm', '-i', 'busybox', 'cat'], {input: 'piped input\n'})
  expectExit(t, input, 0)
  t.equal(input.stdout, 'piped input', '-i passes stdin')
})

t.test('the container sees Podman defaults', async t => {
  const store = await withImage(t)
  const r = await tspod(t, store, ['run', '--rm', '--hostname', 'box', '-e', 'A=1', '-w', '/tmp', 'busybox', 'sh', '-c',
    'id -u; hostname; echo $A $container; pwd; grep -E "^(CapEff|Seccomp):" /proc/self/status; cat /etc/hostname; ls /dev/shm >/dev/null && echo shm'])
  expectExit(t, r, 0)
  const lines = r.stdout.split('\n')
  t.same(lines.slice(0, 4), ['0', 'box', '1 tspod', '/tmp'])
  t.match(lines[4], /^CapEff:\s+00000000800405fb$/, "Podman's default capabilities")
  t.match(lines[5], /^Seccomp:\s+2$/, 'the default seccomp filter')
  t.equal(lines[6], 'box')
  const user = await tspod(t, store, ['run', '--rm', '-u', 'tester', 'busybox', 'id'])
  expectExit(t, user, 0)
  t.match(user.stdout, /^uid=1000\(tester\) gid=1000/, '-u resolves names in the image')
  const ro = await tspod(t, store, ['run', '--rm', '--read-only', 'busybox', 'touch', '/x'])
  t.not(ro.code, 0, '--read-only')
  const caps = await tspod(t, store, ['run', '--rm', '--cap-drop', 'ALL', 'busybox', 'grep', 'CapEff', '/proc/self/status'])
  t.match(caps.stdout, /CapEff:\s+0000000000000000/, '--cap-drop ALL')
  const init = await tspod(t, store, ['run', '--rm', '--init', 'busybox', 'cat', '/proc/1/cmdline'])
  expectExit(t, init, 0)
  t.match(init.stdout, /podman-init/, '--init runs catatonit as PID 1')
  const tmpfs = await tspod(t, store, ['run', '--rm', '--tmpfs', '/scratch', 'busybox', 'sh', '-c', 'grep " /scratch " /proc/mounts'])
  t.match(tmpfs.stdout, /tmpfs \/scratch tmpfs/)
  const none = await tspod(t, store, ['run', '--rm', '--network', 'none', 'busybox', 'cat', '/proc/net/dev'])
  t.notMatch(none.stdout, /eth0|tap0/, '--network none has only lo')
})

t.test('unenforceable limits are never silent', async t => {
  const store = await withImage(t)
  const r = await tspod(t, store, ['run', '--rm', '--memory', '64m', 'busybox', 'true'])
  expectExit(t, r, 0)
  t.match(r.stderr, /--memory cannot be enforced/, 'a warning names the limit')
  const id = (await tspod(t, store, ['create', '--pids-limit', '10', 'busybox', 'true'])).stdout.split('\n').pop()!
  const inspect = JSON.parse((await tspod(t, store, ['inspect', id])).stdout)[0]
  t.same(inspect.HostConfig.UnenforcedLimits, ['pids-limit'], 'inspect shows the limit as not enforced')
  const {writeFileSync, mkdirSync, chownSync} = await import('node:fs')
  mkdirSync(`${store.configHome}/containers`, {recursive: true})
  writeFileSync(`${store.configHome}/containers/containers.conf`, '[tspod]\nunenforced_limits = "error"\n')
  const st = (await import('node:fs')).statSync(store.configHome)
  chownSync(`${store.configHome}/containers`, st.uid, st.gid)
  chownSync(`${store.configHome}/containers/containers.conf`, st.uid, st.gid)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--memory', '64m', 'busybox', 'true']), 125, /resource limits --memory cannot be enforced/)
})

t.test('detached lifecycle: ps, logs, stop, start, wait, rm', async t => {
  const store = await withImage(t)
  const run = await tspod(t, store, ['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done'])
  expectExit(t, run, 0)
  t.match(run.stdout, /^[a-f0-9]{64}$/)
  const ps = await tspod(t, store, ['ps'])
  t.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n[a-f0-9]{12}\s+localhost\/busybox:latest\s+sh -c echo starte...\s+.+\s+Up .+\s+web$/)
  const json = JSON.parse((await tspod(t, store, ['ps', '--format', 'json'])).stdout)
  t.equal(json[0].Names[0], 'web')
  t.equal(json[0].State, 'running')
  await new Promise(r => setTimeout(r, 300))
  const logs = await tspod(t, store, ['logs', 'web'])
  t.equal(logs.stdout, 'started')
  const stop = await tspod(t, store, ['stop', 'web'])
  expectExit(t, stop, 0)
  t.equal(stop.stdout, 'web')
  t.match((await tspod(t, store, ['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, /^web Exited \(0\) /)
  t.equal((await tspod(t, store, ['logs', '--tail', '1', 'web'])).stdout, 'bye')
  t.match((await tspod(t, store, ['logs', '-t', 'web'])).stdout, /^\d{4}-\d\d-\d\dT\S+ started\n\S+ bye$/)
  expectExit(t, await tspod(t, store, ['start', 'web']), 0)
  t.equal((await tspod(t, store, ['inspect', '--format', '{{.State.Status}}', 'web'])).stdout, 'running')
  const kill = await tspod(t, store, ['kill', '-s', 'TERM', 'web'])
  expectExit(t, kill, 0)
  const wait = await tspod(t, store, ['wait', 'web'])
  t.equal(wait.stdout, '0')
  expectExit(t, await tspod(t, store, ['rename', 'web', 'web2']), 0)
  expectExit(t, await tspod(t, store, ['container', 'exists', 'web2']), 0)
  expectExit(t, await tspod(t, store, ['container', 'exists', 'web']), 1)
  expectExit(t, await tspod(t, store, ['rm', 'web2']), 0)
  expectExit(t, await tspod(t, store, ['rm', 'web2']), 1, /no container with name or ID "web2" found/)
})

t.test('a PID 1 that ignores SIGTERM is killed after the timeout; --init makes SIGTERM work', async t => {
  const store = await withImage(t)
  await tspod(t, store, ['run', '-d', '--name', 'stubborn', '--stop-timeout', '1', 'busybox', 'sleep', '1000'])
  const started = Date.now()
  const stop = await tspod(t, store, ['stop', 'stubborn'])
  expectExit(t, stop, 0)
  t.ok(Date.now() - started >= 1000, 'waited for the timeout')
  t.match(stop.stderr, /resorting to SIGKILL/)
  t.equal((await tspod(t, store, ['inspect', '--format', '{{.State.ExitCode}}', 'stubborn'])).stdout, '137')
  await tspod(t, store, ['run', '-d', '--init', '--name', 'polite', 'busybox', 'sleep', '1000'])
  const t0 = Date.now()
  expectExit(t, await tspod(t, store, ['stop', '-t', '5', 'polite']), 0)
  t.ok(Date.now() - t0 < 4000, 'stopped by SIGTERM, well before the timeout')
  t.equal((await tspod(t, store, ['inspect', '--format', '{{.State.ExitCode}}', 'polite'])).stdout, '143')
})

t.test('rm refuses a running container without -f; rm -f stops it', async t => {
  const store = await withImage(t)
  await tspod(t, store, ['run', '-d', '--name', 'busy', 'busybox', 'sleep', '1000'])
  expectExit(t, await tspod(t, store, ['rm', 'busy']), 2, /cannot remove container .* as it is running/)
  expectExit(t, await tspod(t, store, ['rm', '-f', 'busy']), 0)
  t.equal((await tspod(t, store, ['ps', '-aq'])).stdout, '')
})

t.test('names: two runs with one name, exactly one wins', async t => {
  const store = await withImage(t)
  const [a, b] = await Promise.all([
    tspod(t, store, ['run', '-d', '--name', 'same', 'busybox', 'sleep', '1000']),
    tspod(t, store, ['run', '-d', '--name', 'same', 'busybox', 'sleep', '1000']),
  ])
  const codes = [a.code, b.code].sort()
  t.same(codes, [0, 125], 'one succeeds, one fails')
  const loser = a.code === 125 ? a : b
  t.match(loser.stderr, /the container name "same" is already in use/)
  const replaced = await tspod(t, store, ['run', '-d', '--replace', '--name', 'same', 'busybox', 'sleep', '1000'])
  expectExit(t, replaced, 0)
  t.equal((await tspod(t, store, ['ps', '-q', '--no-trunc'])).stdout, replaced.stdout, '--replace removed the old one')
})

t.test('volumes: binds, named volumes created on demand, volume commands', async t => {
  const store = await withImage(t)
  const host = `${store.dir}/hostdir`
  await runAsUser(['sh', '-c', `mkdir -p ${host} && echo from-host > ${host}/f`])
  const bind = await tspod(t, store, ['run', '--rm', '-v', `${host}:/data:ro`, 'busybox', 'sh', '-c', 'cat /data/f; touch /data/g 2>/dev/null || echo read-only'])
  t.equal(bind.stdout, 'from-host\nread-only')
  expectExit(t, await tspod(t, store, ['run', '--rm', '-v', 'vol1:/v', 'busybox', 'sh', '-c', 'echo kept > /v/file']), 0)
  const again = await tspod(t, store, ['run', '--rm', '--mount', 'type=volume,source=vol1,destination=/w', 'busybox', 'cat', '/w/file'])
  t.equal(again.stdout, 'kept', 'the named volume outlives the container')
  t.equal((await tspod(t, store, ['volume', 'ls', '--format', '{{.Name}}'])).stdout, 'vol1')
  const inspect = JSON.parse((await tspod(t, store, ['volume', 'inspect', 'vol1'])).stdout)[0]
  t.equal(inspect.Name, 'vol1')
  t.equal(inspect.Driver, 'local')
  expectExit(t, await tspod(t, store, ['volume', 'create', '--label', 'a=b', 'vol2']), 0)
  t.equal((await tspod(t, store, ['volume', 'ls', '-q', '--filter', 'label=a=b'])).stdout, 'vol2')
  expectExit(t, await tspod(t, store, ['volume', 'rm', 'vol1', 'vol2']), 0)
  expectExit(t, await tspod(t, store, ['volume', 'exists', 'vol1']), 1)
  expectExit(t, await tspod(t, store, ['volume', 'rm', 'vol1']), 1, /no volume with name "vol1" found/)
})

t.test('restart policy: on-failure retries, carried out by the monitor', async t => {
  const store = await withImage(t)
  await tspod(t, store, ['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo try; exit 1'])
  let count = ''
  for (let i = 0; i < 100; i++) {
    count = (await tspod(t, store, ['inspect', '--format', '{{.RestartCount}} {{.State.Status}}', 'flaky'])).stdout
    if (count === '2 exited') break
    await new Promise(r => setTimeout(r, 100))
  }
  t.equal(count, '2 exited', 'restarted twice, then left exited')
  t.equal((await tspod(t, store, ['logs', 'flaky'])).stdout, 'try\ntry\ntry')
  expectExit(t, await tspod(t, store, ['run', '--rm', '--restart', 'always', 'busybox', 'true']), 125, /--rm option conflicts with --restart/)
})

t.test('detached --rm: the container removes itself when it exits', async t => {
  const store = await withImage(t)
  expectExit(t, await tspod(t, store, ['run', '-d', '--rm', '--name', 'brief', 'busybox', 'true']), 0)
  let exists = 0
  for (let i = 0; i < 100; i++) {
    exists = (await tspod(t, store, ['container', 'exists', 'brief'])).code
    if (exists === 1) break
    await new Promise(r => setTimeout(r, 100))
  }
  t.equal(exists, 1)
})

t.test('user namespaces, :U volumes and the default network', async t => {
  const store = await withImage(t)
  const keep = await tspod(t, store, ['run', '--rm', '--userns=keep-id', 'busybox', 'id', '-u'])
  expectExit(t, keep, 0)
  const {requireUser} = await import('./harness.js')
  t.equal(keep.stdout, String(requireUser().uid), '--userns=keep-id runs as the user\'s own uid')
  const dir = `${store.dir}/uvol`
  await runAsUser(['mkdir', dir])
  const u = await tspod(t, store, ['run', '--rm', '-u', 'tester', '-v', `${dir}:/data:U`, 'busybox', 'sh', '-c', 'touch /data/x && stat -c %u /data/x'])
  expectExit(t, u, 0)
  t.equal(u.stdout, '1000', ':U gives the volume to the container user')
  const fetch = MIRROR_FETCH
  // The mirror is outside this machine: allow it two more tries before calling it a failure.
  let net = await tspod(t, store, ['run', '--rm', 'busybox', 'sh', '-c', `ip -o -4 addr show tap0 | grep -o "inet [0-9.]*"; ${fetch}`])
  for (let i = 0; i < 2 && !/HTTP\//.test(net.stdout); i++) {
    await new Promise(r => setTimeout(r, 2000))
    net = await tspod(t, store, ['run', '--rm', 'busybox', 'sh', '-c', `ip -o -4 addr show tap0 | grep -o "inet [0-9.]*"; ${fetch}`])
  }
  expectExit(t, net, 0)
  t.match(net.stdout, /^inet 10\.0\.2\.100\nHTTP\/1\.[01] \d{3} /, 'the default rootless network (slirp4netns) reaches the Debian mirror')
})

t.test('rmi refuses an image a container uses; rmi -f removes the container too', async t => {
  const store = await withImage(t)
  expectExit(t, await tspod(t, store, ['create', '--name', 'user1', 'busybox', 'true']), 0)
  expectExit(t, await tspod(t, store, ['rmi', 'busybox']), 2, /image is in use by a container/)
  expectExit(t, await tspod(t, store, ['rmi', '-f', 'busybox']), 0)
  t.equal((await tspod(t, store, ['ps', '-aq'])).stdout, '', 'the container went with the image')
  expectExit(t, await tspod(t, store, ['system', 'check']), 0)
})

t.test('system prune removes stopped containers, unused volumes (--volumes) and dangling images', async t => {
  const store = await withImage(t)
  expectExit(t, await tspod(t, store, ['run', '--name', 'done', '-v', 'scratch:/s', 'busybox', 'true']), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'alive', 'busybox', 'sleep', '1000']), 0)
  const prune = await tspod(t, store, ['system', 'prune', '-f', '--volumes'])
  expectExit(t, prune, 0)
  t.match(prune.stdout, /Deleted Containers\n[a-f0-9]{64}\n/)
  t.match(prune.stdout, /Deleted Volumes\nscratch\n/)
  t.equal((await tspod(t, store, ['ps', '-a', '--format', '{{.Names}}'])).stdout, 'alive', 'the running container stays')
  expectExit(t, await tspod(t, store, ['image', 'exists', 'busybox']), 0, undefined)
})

t.test('more run flags: --cidfile, --platform, --device, logs -f and --since, ps filters', async t => {
  const store = await withImage(t)
  const cid = `${store.dir}/cid`
  const r = await tspod(t, store, ['run', '-d', '--cidfile', cid, '--name', 'f1', '--label', 'tier=web', 'busybox', 'sh', '-c', 'echo one; sleep 0.5; echo two; sleep 1000'])
  expectExit(t, r, 0)
  t.equal(readFileSync(cid, 'utf8'), r.stdout, '--cidfile holds the ID')
  expectExit(t, await tspod(t, store, ['run', '--rm', '--cidfile', cid, 'busybox', 'true']), 125, /--cidfile must not exist/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--platform', 'linux/arm64', 'busybox', 'true']), 125, /image platform \(linux\/amd64\) does not match the expected platform \(linux\/arm64\)/)
  const dev = await tspod(t, store, ['run', '--rm', '--device', '/dev/fuse', 'busybox', 'sh', '-c', 'test -c /dev/fuse && echo fuse-there'])
  expectExit(t, dev, 0)
  t.equal(dev.stdout, 'fuse-there', '--device binds a host device rootless')
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'f3', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo second']), 0)
  const follow = await tspod(t, store, ['logs', '-f', 'f3'], {timeoutMs: 15_000})
  expectExit(t, follow, 0)
  t.equal(follow.stdout, 'first\nsecond', 'logs -f follows new lines until the container exits')
  t.equal((await tspod(t, store, ['logs', '--since', '1h', 'f1'])).stdout.split('\n')[0], 'one')
  t.equal((await tspod(t, store, ['logs', '--since', '2099-01-01T00:00:00Z', 'f1'])).stdout, '', '--since in the future shows nothing')
  await tspod(t, store, ['create', '--name', 'f2', 'busybox', 'true'])
  t.equal((await tspod(t, store, ['ps', '-a', '--filter', 'label=tier=web', '--format', '{{.Names}}'])).stdout, 'f1')
  t.equal((await tspod(t, store, ['ps', '-a', '--filter', 'status=created', '--format', '{{.Names}}'])).stdout, 'f2')
  t.equal((await tspod(t, store, ['ps', '-a', '--filter', 'ancestor=busybox', '--format', '{{.Names}}', '--sort', 'names'])).stdout, 'f1\nf2\nf3')
  t.equal((await tspod(t, store, ['ps', '-l', '--format', '{{.Names}}'])).stdout, 'f2', 'ps -l shows the latest, whatever its state')
  expectExit(t, await tspod(t, store, ['ps', '--filter', 'colour=red']), 125, /invalid filter "colour"/)
})

t.test('crun gets the seccomp program compiled once; runc compiles the profile itself', async t => {
  const store = await withImage(t)
  const config = (id: string) => JSON.parse(readFileSync(`${store.root}/containers/${id}/userdata/config.json`, 'utf8')) as {annotations?: Record<string, string>; linux?: {seccomp?: unknown}}
  const viaCrun = await tspod(t, store, ['create', '--runtime', 'crun', 'busybox', 'true'])
  expectExit(t, viaCrun, 0)
  const crunSpec = config(viaCrun.stdout)
  t.match(crunSpec.annotations?.['run.oci.seccomp_bpf_data'], /^[A-Za-z0-9+/]+=*$/, 'the program, base64, in the annotation crun reads')
  t.ok(crunSpec.linux?.seccomp, 'the OCI section stays for whoever reads config.json')
  const viaRunc = await tspod(t, store, ['create', '--runtime', 'runc', 'busybox', 'true'])
  expectExit(t, viaRunc, 0)
  t.equal(config(viaRunc.stdout).annotations?.['run.oci.seccomp_bpf_data'], undefined, 'runc has no such annotation')
  const unconfined = await tspod(t, store, ['create', '--runtime', 'crun', '--security-opt', 'seccomp=unconfined', 'busybox', 'true'])
  t.equal(config(unconfined.stdout).annotations?.['run.oci.seccomp_bpf_data'], undefined, 'no filter, no program')
  const run = await tspod(t, store, ['run', '--rm', '--runtime', 'crun', 'busybox', 'grep', '^Seccomp:', '/proc/self/status'])
  expectExit(t, run, 0)
  t.match(run.stdout, /^Seccomp:\s+2$/, 'the filter is on in the container')
})
