// `tspod generate systemd` as the unprivileged user: the units pass
// systemd-analyze verify, and their Exec lines, run by hand as systemd would
// run them (this host has no systemd user instance), start, notify, and stop
// the container.
import t, {type Test} from 'tap'
import {chownSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {parseUnitFile, section, lastValue, splitWords} from '../../src/systemd/unit-file.js'
import {expectExit, fixture, makeStore, repoRoot, requireUser, runAsUser, tspod, tspodBin, type Store} from './harness.js'

const user = requireUser()
const store = makeStore(t)

function execOf(text: string, key: string, unitName: string): string[] {
  const service = section(parseUnitFile(text, unitName), 'Service')
  const value = lastValue(service, key)
  if (value === undefined) throw new Error(`no ${key}= in ${unitName}`)
  return splitWords(value.replace(/^-/, '').replaceAll('%t', user.runtimeDir).replaceAll('%n', unitName).replaceAll('%%', '%').replaceAll('$$', '$'))
}

async function verify(t: Test, text: string, name: string): Promise<void> {
  if (!existsSync('/usr/bin/systemd-analyze')) {
    t.fail('systemd-analyze is not installed (Debian package systemd)')
    return
  }
  const dir = join(store.dir, 'units')
  await runAsUser(['mkdir', '-p', dir])
  const r = await runAsUser(['sh', '-c', `cat > ${dir}/${name} && systemd-analyze --user verify --man=no ${dir}/${name}`], {input: text})
  expectExit(t, r, 0)
  t.equal(r.stderr, '', `systemd-analyze verify accepts ${name}`)
}

t.before(async () => {
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'localhost/busybox']), 0)
})
t.teardown(async () => {
  await tspod(t, store, ['rm', '-af', '-t', '0'])
})

t.test('--new: a unit that creates a fresh container, notified by the monitor', async t => {
  expectExit(t, await tspod(t, store, ['create', '--name', 'svc', '-e', 'GREETING=hello world', '--label', 'app=svc', 'localhost/busybox', 'sh', '-c', 'echo "$GREETING"; exec sleep 1000']), 0)
  const gen = await tspod(t, store, ['generate', 'systemd', '--new', '--name', '--restart-policy', 'always', 'svc'])
  expectExit(t, gen, 0)
  const text = gen.stdout + '\n'
  t.match(text, /^# container-svc.service$/m)
  t.match(text, /^Restart=always$/m)
  t.match(text, /^Type=notify$/m)
  await verify(t, text, 'container-svc.service')
  expectExit(t, await tspod(t, store, ['rm', 'svc']), 0)

  const socket = join(store.dir, 'notify.sock')
  const start = execOf(text, 'ExecStart', 'container-svc.service')
  const script = `python3 ${join(repoRoot, 'test', 'fixtures', 'notify-listen.py')} ${socket} 20 > ${store.dir}/notify.out & L=$!
while [ ! -S ${socket} ]; do sleep 0.05; done
NOTIFY_SOCKET=${socket} "$@"; rc=$?
wait $L; cat ${store.dir}/notify.out; exit $rc`
  const started = await runAsUser(['sh', '-c', script, 'sh', ...start])
  expectExit(t, started, 0)
  t.match(started.stdout, /READY=1/)
  const ps = await tspod(t, store, ['ps', '--format', '{{.Names}} {{.Labels.app}}'])
  t.equal(ps.stdout, 'svc svc', 'the container runs with its original options')
  const logs = await tspod(t, store, ['logs', 'svc'])
  t.equal(logs.stdout, 'hello world', 'an argument with a space survives the unit file')
  expectExit(t, await runAsUser(execOf(text, 'ExecStop', 'container-svc.service')), 0)
  expectExit(t, await runAsUser(execOf(text, 'ExecStopPost', 'container-svc.service')), 0)
  t.equal((await tspod(t, store, ['ps', '-a', '-q'])).stdout, '', 'stop and stop-post leave no container')
  t.notOk(existsSync(join(user.runtimeDir, 'container-svc.service.ctr-id')), 'nor the cid file')
})

t.test('without --new: Type=forking on the existing container, PIDFile is its monitor', async t => {
  expectExit(t, await tspod(t, store, ['create', '--name', 'old', 'localhost/busybox', 'sleep', '1000']), 0)
  const gen = await tspod(t, store, ['generate', 'systemd', '--name', '-t', '2', 'old'])
  expectExit(t, gen, 0)
  const text = gen.stdout + '\n'
  t.match(text, /^Type=forking$/m)
  await verify(t, text, 'container-old.service')
  expectExit(t, await runAsUser(execOf(text, 'ExecStart', 'container-old.service')), 0)
  const pidFile = lastValue(section(parseUnitFile(text, 'x'), 'Service'), 'PIDFile')!
  const pid = readFileSync(pidFile, 'utf8').trim()
  t.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'tspod-monitor', 'PIDFile names the monitor')
  expectExit(t, await runAsUser(execOf(text, 'ExecStop', 'container-old.service')), 0)
  const state = await tspod(t, store, ['inspect', '--format', '{{.State.Status}}', 'old'])
  t.equal(state.stdout, 'exited')
})

t.test('a pod: one unit for the pod and one per container, run as systemd would', async t => {
  expectExit(t, await tspod(t, store, ['pod', 'create', '--name', 'web']), 0)
  expectExit(t, await tspod(t, store, ['create', '--pod', 'web', '--name', 'web-app', 'localhost/busybox', 'sh', '-c', 'hostname; exec sleep 1000']), 0)
  const gen = await tspod(t, store, ['generate', 'systemd', '--new', '--name', '--format', 'json', 'web'])
  expectExit(t, gen, 0)
  const units = JSON.parse(gen.stdout) as Record<string, string>
  t.same(Object.keys(units).sort(), ['container-web-app', 'pod-web'])
  const podUnit = units['pod-web']
  const appUnit = units['container-web-app']
  t.match(podUnit, /^Wants=container-web-app.service$/m)
  t.match(podUnit, /^Before=container-web-app.service$/m)
  t.match(appUnit, /^BindsTo=pod-web.service$/m)
  await verify(t, podUnit, 'pod-web.service')
  await verify(t, appUnit, 'container-web-app.service')
  // The originals go; the units make them afresh.
  expectExit(t, await tspod(t, store, ['pod', 'rm', '-f', 'web']), 0)

  const podExec = (key: string) => execOf(podUnit, key, 'pod-web.service')
  const service = section(parseUnitFile(podUnit, 'pod-web.service'), 'Service')!
  for (const pre of service.entries.filter(e => e.key === 'ExecStartPre')) {
    const words = splitWords(pre.value.replaceAll('%t', user.runtimeDir))
    expectExit(t, await runAsUser(words), 0)
  }
  expectExit(t, await runAsUser(podExec('ExecStart')), 0)
  const pidFile = lastValue(service, 'PIDFile')!.replaceAll('%t', user.runtimeDir)
  t.equal(readFileSync(`/proc/${readFileSync(pidFile, 'utf8').trim()}/comm`, 'utf8').trim(), 'tspod-monitor', 'the pod unit watches the infra container\'s monitor')

  const socket = join(store.dir, 'pod-notify.sock')
  const script = `python3 ${join(repoRoot, 'test', 'fixtures', 'notify-listen.py')} ${socket} 20 > ${store.dir}/pod-notify.out & L=$!
while [ ! -S ${socket} ]; do sleep 0.05; done
NOTIFY_SOCKET=${socket} "$@"; rc=$?
wait $L; cat ${store.dir}/pod-notify.out; exit $rc`
  const started = await runAsUser(['sh', '-c', script, 'sh', ...execOf(appUnit, 'ExecStart', 'container-web-app.service')])
  expectExit(t, started, 0)
  t.match(started.stdout, /READY=1/)
  const ps = await tspod(t, store, ['ps', '--pod', '--format', '{{.Names}} {{.PodName}}', '--filter', 'name=web-app'])
  t.equal(ps.stdout, 'web-app web', 'the container joined the pod the pod unit made')

  expectExit(t, await runAsUser(execOf(appUnit, 'ExecStop', 'container-web-app.service')), 0)
  expectExit(t, await runAsUser(execOf(appUnit, 'ExecStopPost', 'container-web-app.service')), 0)
  expectExit(t, await runAsUser(podExec('ExecStop')), 0)
  expectExit(t, await runAsUser(podExec('ExecStopPost')), 0)
  t.equal((await tspod(t, store, ['pod', 'ps', '-q'])).stdout, '', 'stopping the units removes the pod')
})

/** `tspod ARGS` on a store, run as a Type=notify unit's ExecStart with a real datagram socket in place of systemd's; what it received, one datagram a line. */
async function underNotify(on: Store, args: string[], name: string, listen: 'until-ready' | 'all' = 'until-ready'): Promise<{code: number; datagrams: string; stderr: string}> {
  const socket = join(store.dir, `${name}.sock`)
  const out = join(store.dir, `${name}.out`)
  const script = `python3 ${join(repoRoot, 'test', 'fixtures', 'notify-listen.py')} ${socket} ${listen === 'all' ? '4 all' : '6'} > ${out} & L=$!
while [ ! -S ${socket} ]; do sleep 0.05; done
NOTIFY_SOCKET=${socket} "$@"; rc=$?
wait $L; cat ${out}; exit $rc`
  const r = await runAsUser(['sh', '-c', script, 'sh', tspodBin, '--root', on.root, '--runroot', on.runroot, ...args], {timeoutMs: 60_000})
  return {code: r.code, datagrams: r.stdout.split('\n').filter(l => l !== 'listening' && !/^[0-9a-f]{64}$/.test(l)).join('\n'), stderr: r.stderr}
}

/**
 * The test store with a short run root: crun binds its notify proxy socket at
 * RUNROOT/rt/ID/notify/notify, which must fit in a socket address (107
 * bytes); the test store's run root is too long for that (see docs/systemd.md).
 * This one has 23 characters, as many as /run/user/UID/tspod for a 6-digit
 * UID: too long for the RUNROOT/runtime that tspod once gave crun.
 */
function shortRunroot(t: Test): Store {
  const runroot = mkdtempSync('/tmp/tspod-sdnot-')
  if (user.switched) chownSync(runroot, user.uid, user.gid)
  const short = {...store, runroot}
  t.teardown(async () => {
    // The graph root is the test store's: remove only what ran under this run root.
    await tspod(t, short, ['rm', '-f', '-t', '0', 'n-container'])
    await runAsUser([join(repoRoot, 'build', 'tspod-ns'), '--runroot', runroot, '--stop'])
    rmSync(runroot, {recursive: true, force: true})
  })
  return short
}

t.test('--sdnotify: conmon, container (the container says READY=1 itself) and ignore', async t => {
  const conmon = await underNotify(store, ['run', '-d', '--name', 'n-conmon', '--sdnotify=conmon', 'localhost/busybox', 'sleep', '1000'], 'n-conmon')
  t.equal(conmon.code, 0, conmon.stderr)
  t.match(conmon.datagrams, /^MAINPID=\d+\|READY=1$/, 'conmon: the monitor sends MAINPID and READY=1 together')

  const short = shortRunroot(t)
  expectExit(t, await tspod(t, short, ['import', fixture('debian-bookworm-rootfs.tar'), 'localhost/debian']), 0)
  // Perl (in Debian's base) stands in for a service that notifies systemd itself once it is ready.
  const notifier = 'use IO::Socket::UNIX; sleep 1; my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Peer => $ENV{NOTIFY_SOCKET}) or die "connect: $!"; $s->send("READY=1") or die "send: $!"; sleep 1000'
  const started = Date.now()
  const container = await underNotify(short, ['run', '-d', '--name', 'n-container', '--sdnotify=container', 'localhost/debian', 'perl', '-e', notifier], 'n-container', 'all')
  t.equal(container.code, 0, container.stderr)
  t.ok(Date.now() - started >= 1000, 'run waits for the container\'s READY=1')
  t.match(container.datagrams, /(^|\n)READY=1(\n|\||$)/, 'container: the container\'s READY=1 reaches systemd\'s socket')
  t.match(container.datagrams, /(^|\n)MAINPID=\d+$/m, 'and the monitor sends MAINPID alone')
  t.notMatch(container.datagrams, /MAINPID=\d+\|READY=1/, 'never READY=1 of its own')
  const env = await tspod(t, short, ['exec', 'n-container', 'sh', '-c', 'tr "\\0" "\\n" < /proc/1/environ | grep ^NOTIFY_SOCKET='])
  t.match(env.stdout, /^NOTIFY_SOCKET=\S+$/, 'the container\'s process was given NOTIFY_SOCKET')

  const ignore = await underNotify(store, ['run', '-d', '--name', 'n-ignore', '--sdnotify=ignore', 'localhost/busybox', 'sh', '-c', 'echo "[$NOTIFY_SOCKET]"; exec sleep 1000'], 'n-ignore')
  t.equal(ignore.code, 0, ignore.stderr)
  t.equal(ignore.datagrams, '', 'ignore: nothing is sent')
  t.equal((await tspod(t, store, ['logs', 'n-ignore'])).stdout, '[]', 'and the container does not see the socket')

  // The infra container of a pod made on the way never owes a READY=1: run must not hang on it.
  const pod = await underNotify(store, ['run', '-d', '--pod', 'new:notifypod', '--name', 'n-pod', '--sdnotify=conmon', 'localhost/busybox', 'sleep', '1000'], 'n-pod')
  t.equal(pod.code, 0, pod.stderr)
  t.match(pod.datagrams, /^MAINPID=\d+\|READY=1$/, 'one MAINPID and READY=1, from the member\'s monitor')
  expectExit(t, await tspod(t, store, ['pod', 'rm', '-f', '-t', '0', 'notifypod']), 0)
  expectExit(t, await tspod(t, store, ['rm', '-f', '-t', '0', 'n-conmon', 'n-ignore']), 0)
})

t.test('--container-prefix, --pod-prefix, --separator, --time and --restart-policy name and shape the units', async t => {
  expectExit(t, await tspod(t, store, ['pod', 'create', '--name', 'gp']), 0)
  expectExit(t, await tspod(t, store, ['create', '--pod', 'gp', '--name', 'gp-a', 'localhost/busybox', 'sleep', '1000']), 0)
  const gen = await tspod(t, store, ['generate', 'systemd', '--name', '--container-prefix', 'ctr', '--pod-prefix', 'grp', '--separator', '_', '--time', '3', '--restart-policy', 'on-abnormal', '--format', 'json', 'gp'])
  expectExit(t, gen, 0)
  const units = JSON.parse(gen.stdout) as Record<string, string>
  t.same(Object.keys(units).sort(), ['ctr_gp-a', 'grp_gp'])
  t.match(units.grp_gp, /^Wants=ctr_gp-a.service$/m)
  t.match(units['ctr_gp-a'], /^BindsTo=grp_gp.service$/m)
  t.match(units['ctr_gp-a'], /^ExecStop=.* stop -t 3 gp-a$/m)
  t.match(units['ctr_gp-a'], /^Restart=on-abnormal$/m)
  for (const [name, text] of Object.entries(units)) await verify(t, text, `${name}.service`)
  expectExit(t, await tspod(t, store, ['pod', 'rm', '-f', '-t', '0', 'gp']), 0)
})

t.test('bad input', async t => {
  expectExit(t, await tspod(t, store, ['generate', 'systemd', 'nope']), 125, /nope does not refer to a container or pod/)
  expectExit(t, await tspod(t, store, ['generate', 'systemd', '--restart-policy', 'sometimes', 'old']), 125, /sometimes is not a valid restart policy/)
  if (user.switched) chownSync(store.dir, user.uid, user.gid)
  const files = await tspod(t, store, ['generate', 'systemd', '--files', '--name', 'old'], {cwd: store.dir})
  expectExit(t, files, 0)
  t.equal(files.stdout, join(store.dir, 'container-old.service'))
})
