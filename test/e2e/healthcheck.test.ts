// Healthchecks as the unprivileged user: `healthcheck run`, the monitor's own
// schedule (no systemd here), status in ps and inspect, start period,
// retries, and --health-on-failure.
import t, {type Test} from 'tap'
import {chownSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {expectExit, fixture, makeStore, requireUser, tspod} from './harness.js'

const user = requireUser()
const store = makeStore(t)

async function health(t: Test, name: string): Promise<{Status: string; FailingStreak: number; Log: Array<{ExitCode: number; Output: string}> | null}> {
  const r = await tspod(t, store, ['inspect', '--format', '{{json .State.Health}}', name])
  expectExit(t, r, 0)
  return JSON.parse(r.stdout)
}

async function until(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(200)
  }
  return false
}

t.before(async () => {
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
})
t.teardown(async () => {
  await tspod(t, store, ['rm', '-af', '-t', '0'])
})

t.test('healthcheck run by hand: healthy exits 0, unhealthy 1, with a log', async t => {
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'manual', '--health-cmd', 'cat /tmp/ok', '--health-interval', 'disable', '--health-retries', '1', 'busybox', 'sleep', '1000']), 0)
  t.equal((await health(t, 'manual')).Status, 'starting', 'starting until the first check')
  expectExit(t, await tspod(t, store, ['healthcheck', 'run', 'manual']), 1)
  t.match(await health(t, 'manual'), {Status: 'unhealthy', FailingStreak: 1})
  expectExit(t, await tspod(t, store, ['exec', 'manual', 'sh', '-c', 'echo fine > /tmp/ok']), 0)
  expectExit(t, await tspod(t, store, ['healthcheck', 'run', 'manual']), 0)
  const h = await health(t, 'manual')
  t.match(h, {Status: 'healthy', FailingStreak: 0})
  t.same(h.Log?.map(e => e.ExitCode), [1, 0])
  t.equal(h.Log?.[1].Output, 'fine', 'the command\'s output is kept')
  const ps = await tspod(t, store, ['ps', '--filter', 'name=manual', '--format', '{{.Status}}'])
  t.match(ps.stdout, /^Up .* \(healthy\)$/)
  const config = await tspod(t, store, ['inspect', '--format', '{{json .Config.Healthcheck}}', 'manual'])
  t.match(JSON.parse(config.stdout), {Test: ['CMD-SHELL', 'cat /tmp/ok'], Retries: 1})

  // The check runs as the container's user, as in Podman.
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'as-nobody', '--user', '65534', '--health-cmd', 'id -u', '--health-interval', 'disable', 'busybox', 'sleep', '1000']), 0)
  expectExit(t, await tspod(t, store, ['healthcheck', 'run', 'as-nobody']), 0)
  t.equal((await health(t, 'as-nobody')).Log?.[0].Output, '65534')
})

t.test('the monitor runs the check on schedule; retries count failures in a row', async t => {
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'sched', '--health-cmd', '["test", "-e", "/tmp/up"]', '--health-interval', '1s', '--health-retries', '2', 'busybox', 'sh', '-c', 'sleep 2; touch /tmp/up; exec sleep 1000']), 0)
  t.ok(await until(async () => (await health(t, 'sched')).Status === 'healthy'), 'becomes healthy without anyone running a check')
  expectExit(t, await tspod(t, store, ['exec', 'sched', 'rm', '/tmp/up']), 0)
  t.ok(await until(async () => (await health(t, 'sched')).Status === 'unhealthy'), 'and unhealthy after two failures')
  t.ok((await health(t, 'sched')).FailingStreak >= 2)
})

t.test('--health-on-failure=kill and restart; --no-healthcheck', async t => {
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'killme', '--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1', '--health-on-failure', 'kill', 'busybox', 'sleep', '1000']), 0)
  t.ok(await until(async () => (await tspod(t, store, ['inspect', '--format', '{{.State.Status}}', 'killme'])).stdout === 'exited'), 'an unhealthy container is killed')
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'restartme', '--health-cmd', 'test ! -e /tmp/seen && touch /tmp/seen', '--health-interval', '1s', '--health-retries', '1', '--health-on-failure', 'restart', 'busybox', 'sh', '-c', 'echo started; exec sleep 1000']), 0)
  t.ok(await until(async () => (await tspod(t, store, ['logs', 'restartme'])).stdout.split('\n').length >= 2), 'an unhealthy container is restarted')
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'none', '--health-cmd', 'false', '--no-healthcheck', 'busybox', 'sleep', '1000']), 0)
  t.equal((await health(t, 'none')).Status, '', 'no healthcheck at all')
  expectExit(t, await tspod(t, store, ['healthcheck', 'run', 'none']), 125, /has no defined healthcheck/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--health-interval', 'soon', '--health-cmd', 'true', 'busybox', 'true']), 125, /invalid argument "soon" for "--health-interval" flag/)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--health-on-failure', 'explode', '--health-cmd', 'true', 'busybox', 'true']), 125, /invalid --health-on-failure explode/)
})

t.test('HEALTHCHECK from the image; --health-timeout; --health-start-period; --health-on-failure=stop', async t => {
  const context = join(store.dir, 'hc')
  mkdirSync(context, {recursive: true})
  writeFileSync(join(context, 'Containerfile'), 'FROM busybox\nHEALTHCHECK --interval=1s --retries=1 --timeout=5s CMD test -e /tmp/ok\nCMD ["sleep", "1000"]\n')
  if (user.switched) chownSync(context, user.uid, user.gid)
  expectExit(t, await tspod(t, store, ['build', '--format', 'docker', '-q', '-t', 'localhost/hc', context]), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'fromimage', 'localhost/hc']), 0)
  const config = await tspod(t, store, ['inspect', '--format', '{{json .Config.Healthcheck}}', 'fromimage'])
  t.match(JSON.parse(config.stdout), {Test: ['CMD-SHELL', 'test -e /tmp/ok'], Interval: 1_000_000_000, Retries: 1, Timeout: 5_000_000_000})
  t.ok(await until(async () => (await health(t, 'fromimage')).Status === 'unhealthy'), 'the image\'s check runs on its schedule')
  expectExit(t, await tspod(t, store, ['exec', 'fromimage', 'touch', '/tmp/ok']), 0)
  t.ok(await until(async () => (await health(t, 'fromimage')).Status === 'healthy'), 'and turns healthy')
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'overridden', '--health-cmd', 'true', '--health-interval', 'disable', 'localhost/hc']), 0)
  t.match(JSON.parse((await tspod(t, store, ['inspect', '--format', '{{json .Config.Healthcheck}}', 'overridden'])).stdout), {Test: ['CMD-SHELL', 'true']}, '--health-cmd overrides the image')

  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'slow', '--health-cmd', 'sleep 10', '--health-timeout', '1s', '--health-interval', 'disable', '--health-retries', '1', 'busybox', 'sleep', '1000']), 0)
  const started = Date.now()
  expectExit(t, await tspod(t, store, ['healthcheck', 'run', 'slow']), 1)
  t.ok(Date.now() - started < 5000, 'a check that outlives --health-timeout fails when the timeout ends')
  t.match(await health(t, 'slow'), {Status: 'unhealthy', Log: [{ExitCode: 1, Output: /timed out after 1s/}]})

  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'warming', '--health-cmd', 'false', '--health-start-period', '1m', '--health-interval', 'disable', '--health-retries', '1', 'busybox', 'sleep', '1000']), 0)
  expectExit(t, await tspod(t, store, ['healthcheck', 'run', 'warming']), 1)
  t.match(await health(t, 'warming'), {Status: 'starting', FailingStreak: 0}, 'failures in the start period do not count')

  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'stopme', '--stop-timeout', '1', '--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1', '--health-on-failure', 'stop', 'busybox', 'sleep', '1000']), 0)
  t.ok(await until(async () => (await tspod(t, store, ['inspect', '--format', '{{.State.Status}}', 'stopme'])).stdout === 'exited'), 'an unhealthy container is stopped')
})
