// Healthchecks as the unprivileged user: `healthcheck run`, the monitor's own
// schedule (no systemd here), status in ps and inspect, start period,
// retries, and --health-on-failure.
import t, {type Test} from 'tap'
import {setTimeout as sleep} from 'node:timers/promises'
import {expectExit, fixture, makeStore, requireUser, tspod} from './harness.js'

requireUser()
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
