// Quadlet end to end, as the unprivileged user: install/list/print/rm,
// --dryrun checked by systemd-analyze verify, the generator writing units and
// [Install] symlinks, bad files failing with file:line, and the generated
// units' ExecStart/ExecStop lines run by hand (this host has no systemd user
// instance) with a real notify socket standing in for systemd.
import t, {type Test} from 'tap'
import {chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {splitWords} from '../../src/systemd/unit-file.js'
import {expectExit, fixture, makeStore, repoRoot, requireUser, runAsUser, tspod} from './harness.js'

const user = requireUser()
const store = makeStore(t)
const env = {XDG_CONFIG_HOME: store.configHome}
const quadletDir = join(store.configHome, 'containers', 'systemd')
const sources = join(store.dir, 'quadlets')
const generated = join(store.dir, 'generated')
const own = (p: string) => {
  if (user.switched) chownSync(p, user.uid, user.gid)
}

function write(dir: string, name: string, text: string): string {
  mkdirSync(dir, {recursive: true})
  own(dir)
  writeFileSync(join(dir, name), text)
  own(join(dir, name))
  return join(dir, name)
}

/** A unit's Exec line with systemd's specifiers filled in as systemd would for a user unit. */
function execLine(unit: string, key: string, unitName: string): string[] {
  const line = unit.split('\n').find(l => l.startsWith(`${key}=`))
  if (!line) throw new Error(`no ${key}= in unit`)
  const value = line.slice(key.length + 1).replace(/^-/, '')
  return splitWords(value.replaceAll('%t', user.runtimeDir).replaceAll('%N', unitName.replace(/\.service$/, '')).replaceAll('%n', unitName).replaceAll('%%', '%').replaceAll('$$', '$'))
}

t.before(async () => {
  // The units run bin/tspod without --root: point it at this test's store through the user's storage.conf.
  write(join(store.configHome, 'containers'), 'storage.conf', `[tspod]\ngraphroot = "${store.root}"\nrunroot = "${store.runroot}"\n`)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'localhost/busybox']), 0)
  write(sources, 'web.container', [
    '[Unit]', 'Description=tspod quadlet test web server',
    '[Container]', 'Image=localhost/busybox', 'Exec=sh -c "echo $GREETING > /data/hello; exec sleep 1000"',
    'Environment=GREETING=hi', 'Volume=data.volume:/data', 'Label=app=web',
    '[Service]', 'Restart=on-failure',
    '[Install]', 'WantedBy=default.target', '',
  ].join('\n'))
  write(sources, 'data.volume', '[Volume]\nLabel=purpose=test\n')
})
t.teardown(async () => {
  await tspod(t, store, ['rm', '-af', '-t', '0'])
})

t.test('install, list, print, dryrun verified by systemd-analyze', async t => {
  const installed = await tspod(t, null, ['quadlet', 'install', sources], {env})
  expectExit(t, installed, 0)
  t.ok(existsSync(join(quadletDir, 'web.container')) && existsSync(join(quadletDir, 'data.volume')))
  expectExit(t, await tspod(t, null, ['quadlet', 'install', join(sources, 'web.container')], {env}), 125, /web.container is already installed/)

  const list = await tspod(t, null, ['quadlet', 'list', '--format', '{{.Name}} {{.Unit}} {{.Status}}'], {env})
  expectExit(t, list, 0)
  t.same(list.stdout.split('\n').sort(), ['data.volume data-volume.service ok', 'web.container web.service ok'])
  const printed = await tspod(t, null, ['quadlet', 'print', 'web.container'], {env})
  t.equal(printed.stdout, readFileSync(join(sources, 'web.container'), 'utf8').trimEnd())

  if (!existsSync('/usr/bin/systemd-analyze')) t.fail('systemd-analyze is not installed: the dryrun cannot verify units (install the systemd package)')
  const dry = await tspod(t, null, ['quadlet', '--dryrun'], {env})
  expectExit(t, dry, 0)
  t.match(dry.stdout, /^---data-volume.service---$/m)
  t.match(dry.stdout, /^---web.service---$/m)
  t.equal(dry.stderr, '', 'systemd-analyze verify found nothing to complain about')
})

t.test('bad files: file:line errors, exit 1, never installed', async t => {
  const bad = write(join(store.dir, 'bad'), 'typo.container', '[Container]\nImage=localhost/busybox\nPublishPorts=8080:80\n')
  expectExit(t, await tspod(t, null, ['quadlet', 'install', bad], {env}), 125, new RegExp(`^Error: ${bad}:3: unsupported key "PublishPorts" in \\[Container\\]\\nDid you mean PublishPort=\\?`, 'm'))
  t.notOk(existsSync(join(quadletDir, 'typo.container')))
  write(quadletDir, 'broken.container', '[Container]\nExec=true\n')
  const dry = await tspod(t, null, ['quadlet', '--dryrun'], {env})
  expectExit(t, dry, 1, /broken.container:1: no Image= key in \[Container\]/)
  t.match(dry.stdout, /---web.service---/, 'the good files still generate')
  expectExit(t, await tspod(t, null, ['quadlet', 'rm', 'broken.container'], {env}), 0)
  expectExit(t, await tspod(t, null, ['quadlet', 'rm', 'broken.container'], {env}), 1, /not installed/)
  expectExit(t, await tspod(t, null, ['quadlet', 'rm', '-i', 'broken.container'], {env}), 0)
})

t.test('the generator writes units and [Install] links', async t => {
  mkdirSync(generated, {recursive: true})
  own(generated)
  const generator = join(repoRoot, 'bin', 'tspod-user-generator')
  const r = await runAsUser([generator, generated, `${generated}-early`, `${generated}-late`], {env})
  expectExit(t, r, 0)
  t.ok(existsSync(join(generated, 'web.service')))
  t.ok(existsSync(join(generated, 'data-volume.service')))
  t.equal(readlinkSync(join(generated, 'default.target.wants', 'web.service')), join(generated, 'web.service'))
})

t.test('the units\' commands work when run as systemd would run them', async t => {
  const volumeUnit = readFileSync(join(generated, 'data-volume.service'), 'utf8')
  expectExit(t, await runAsUser(execLine(volumeUnit, 'ExecStart', 'data-volume.service'), {env}), 0)
  expectExit(t, await runAsUser(execLine(volumeUnit, 'ExecStart', 'data-volume.service'), {env}), 0, undefined)
  const vol = await tspod(t, store, ['volume', 'inspect', '--format', '{{.Labels.purpose}}', 'systemd-data'])
  t.equal(vol.stdout, 'test', 'the volume unit created the labelled volume (and is idempotent)')

  const webUnit = readFileSync(join(generated, 'web.service'), 'utf8')
  const socket = join(store.dir, 'notify.sock')
  const start = execLine(webUnit, 'ExecStart', 'web.service')
  const script = `python3 ${join(repoRoot, 'test', 'fixtures', 'notify-listen.py')} ${socket} 20 > ${store.dir}/notify.out & L=$!
while [ ! -S ${socket} ]; do sleep 0.05; done
NOTIFY_SOCKET=${socket} "$@"; rc=$?
wait $L; cat ${store.dir}/notify.out; exit $rc`
  const started = await runAsUser(['sh', '-c', script, 'sh', ...start], {env})
  expectExit(t, started, 0)
  t.match(started.stdout, /^READY=1$|(^|\|)READY=1(\||$)/m, 'systemd is told the service is ready')
  const mainpid = /MAINPID=(\d+)/.exec(started.stdout)
  t.ok(mainpid, 'and which process to watch')
  const ps = await tspod(t, store, ['ps', '--format', '{{.Names}} {{.Labels.app}}'])
  t.equal(ps.stdout, 'systemd-web web')
  const hello = await tspod(t, store, ['run', '--rm', '-v', 'systemd-data:/data', 'localhost/busybox', 'cat', '/data/hello'])
  t.equal(hello.stdout, 'hi', 'Environment= and Volume= reached the container')
  if (mainpid) {
    const comm = readFileSync(`/proc/${mainpid[1]}/comm`, 'utf8').trim()
    t.equal(comm, 'tspod-monitor', 'MAINPID is the container\'s monitor')
  }
  expectExit(t, await runAsUser(execLine(webUnit, 'ExecStop', 'web.service'), {env}), 0)
  const after = await tspod(t, store, ['ps', '-a', '-q'])
  t.equal(after.stdout, '', 'ExecStop removed the container')
  expectExit(t, await runAsUser(execLine(webUnit, 'ExecStopPost', 'web.service'), {env}), 0, undefined)
})

/** Run a unit's ExecStart as systemd would for Type=notify: with NOTIFY_SOCKET naming a real datagram socket; returns what arrived. */
async function startNotify(t: Test, unit: string, unitName: string, name: string): Promise<string> {
  const socket = join(store.dir, `${name}.sock`)
  const script = `python3 ${join(repoRoot, 'test', 'fixtures', 'notify-listen.py')} ${socket} 30 > ${store.dir}/${name}.out & L=$!
while [ ! -S ${socket} ]; do sleep 0.05; done
NOTIFY_SOCKET=${socket} "$@"; rc=$?
wait $L; cat ${store.dir}/${name}.out; exit $rc`
  const started = await runAsUser(['sh', '-c', script, 'sh', ...execLine(unit, 'ExecStart', unitName)], {env, timeoutMs: 60_000})
  expectExit(t, started, 0)
  return started.stdout
}

t.test('.network, .pod with a member, and .kube units, run as systemd would run them', async t => {
  write(quadletDir, 'back.network', '[Network]\nSubnet=10.89.41.0/24\n')
  write(quadletDir, 'app.pod', '[Pod]\nNetwork=back.network\n[Install]\nWantedBy=default.target\n')
  write(quadletDir, 'member.container', '[Container]\nImage=localhost/busybox\nPod=app.pod\nExec=sleep 1000\n')
  write(quadletDir, 'k.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: kq\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: c\n    image: localhost/busybox\n    command: [sleep, "1000"]\n')
  write(quadletDir, 'k.kube', '[Kube]\nYaml=k.yaml\n')
  const dry = await tspod(t, null, ['quadlet', '--dryrun'], {env})
  expectExit(t, dry, 0)
  t.equal(dry.stderr, '', 'systemd-analyze verify accepts the units')
  const out = join(store.dir, 'generated-2')
  mkdirSync(out, {recursive: true})
  own(out)
  expectExit(t, await runAsUser([join(repoRoot, 'bin', 'tspod-user-generator'), out, `${out}-early`, `${out}-late`], {env}), 0)
  const unit = (name: string) => readFileSync(join(out, name), 'utf8')
  const podUnit = unit('app-pod.service')
  t.match(podUnit, /^Wants=member.service$/m, 'starting the pod starts its member')
  t.match(unit('member.service'), /^BindsTo=app-pod.service$/m, 'and the member goes down with the pod')
  const printed = await tspod(t, null, ['quadlet', 'print', '--unit', 'member.service'], {env})
  expectExit(t, printed, 0)
  t.equal(`${printed.stdout}\n`, unit('member.service'), 'print --unit shows what the generator writes')

  expectExit(t, await runAsUser(execLine(unit('back-network.service'), 'ExecStart', 'back-network.service'), {env}), 0)
  expectExit(t, await runAsUser(execLine(podUnit, 'ExecStartPre', 'app-pod.service'), {env}), 0)
  expectExit(t, await runAsUser(execLine(podUnit, 'ExecStart', 'app-pod.service'), {env}), 0)
  const pidFile = join(user.runtimeDir, 'app-pod.pid')
  t.equal(readFileSync(`/proc/${readFileSync(pidFile, 'utf8').trim()}/comm`, 'utf8').trim(), 'tspod-monitor', 'PIDFile= names the infra container\'s monitor')
  t.match(await startNotify(t, unit('member.service'), 'member.service', 'member'), /MAINPID=\d+\|READY=1/)
  const ps = await tspod(t, store, ['ps', '--pod', '--filter', 'name=systemd-member', '--format', '{{.Names}} {{.PodName}}'])
  t.equal(ps.stdout, 'systemd-member systemd-app', 'the member runs in the pod the pod unit made')
  const addr = await tspod(t, store, ['exec', 'systemd-member', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])
  t.match(addr.stdout, /inet 10\.89\.41\.\d+\/24/, 'on the .network\'s network')
  expectExit(t, await runAsUser(execLine(unit('member.service'), 'ExecStop', 'member.service'), {env}), 0)
  expectExit(t, await runAsUser(execLine(podUnit, 'ExecStop', 'app-pod.service'), {env}), 0)
  expectExit(t, await runAsUser(execLine(podUnit, 'ExecStopPost', 'app-pod.service'), {env}), 0)
  t.equal((await tspod(t, store, ['pod', 'ps', '-q'])).stdout, '', 'the pod unit\'s stop removes the pod')

  const kube = unit('k.service')
  const notified = await startNotify(t, kube, 'k.service', 'kube')
  t.match(notified, /MAINPID=\d+\|READY=1/, 'the .kube unit tells systemd it is ready, through its service container')
  const names = await tspod(t, store, ['ps', '--format', '{{.Names}}'])
  t.match(names.stdout, /^kq-c$/m)
  t.match(names.stdout, /^[0-9a-f]{12}-service$/m)
  expectExit(t, await runAsUser(execLine(kube, 'ExecStopPost', 'k.service'), {env}), 0)
  t.equal((await tspod(t, store, ['ps', '-aq'])).stdout, '', 'kube down removes it all')
  expectExit(t, await tspod(t, store, ['network', 'rm', 'systemd-back']), 0)
})
