import t from 'tap'
import {healthTimerCommand, parseDuration, resolveHealthcheck, systemdUserManagerRuns} from '../../../src/container/health.js'

const S = 1_000_000_000

t.test('durations as Go writes them', async t => {
  t.equal(parseDuration('30s', 'x'), 30 * S)
  t.equal(parseDuration('1m30s', 'x'), 90 * S)
  t.equal(parseDuration('500ms', 'x'), 0.5 * S)
  t.equal(parseDuration('2', 'x'), 2 * S)
  t.throws(() => parseDuration('soon', 'health-interval'), /invalid argument "soon" for "--health-interval" flag/)
})

t.test('flags override the image; none and --no-healthcheck disable', async t => {
  const image = {Test: ['CMD-SHELL', 'true'], Interval: 10 * S, Retries: 5}
  t.match(resolveHealthcheck(image, {none: false}), {Test: ['CMD-SHELL', 'true'], Interval: 10 * S, Retries: 5, Timeout: 30 * S})
  t.match(resolveHealthcheck(image, {cmd: 'curl -f x', interval: '2s', none: false}), {Test: ['CMD-SHELL', 'curl -f x'], Interval: 2 * S})
  t.match(resolveHealthcheck(undefined, {cmd: '["test", "-e", "/ok"]', none: false}), {Test: ['CMD', 'test', '-e', '/ok']})
  t.equal(resolveHealthcheck(image, {cmd: 'none', none: false}), undefined)
  t.equal(resolveHealthcheck(image, {none: true}), undefined)
  t.equal(resolveHealthcheck({Test: ['NONE']}, {none: false}), undefined)
  t.equal(resolveHealthcheck(image, {interval: 'disable', none: false})?.Interval, 0)
  t.throws(() => resolveHealthcheck(image, {retries: '0', none: false}), /--health-retries 0/)
  t.throws(() => resolveHealthcheck(image, {interval: '10ms', none: false}), /at least 1 second/)
})

t.test('the systemd timer that schedules checks where a user manager runs', async t => {
  t.same(healthTimerCommand('0123456789abcdef', 30 * S, ['/usr/bin/node', 'main.js', 'healthcheck', 'run', 'ID']), [
    'systemd-run', '--user', '--quiet', '--unit=tspod-healthcheck-0123456789ab', '--on-unit-inactive=30s', '--timer-property=AccuracySec=1s', '--',
    '/usr/bin/node', 'main.js', 'healthcheck', 'run', 'ID',
  ])
  t.equal(systemdUserManagerRuns({XDG_RUNTIME_DIR: '/nonexistent'}), false, 'no user manager here: the monitor keeps the schedule')
})
