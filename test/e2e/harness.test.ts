import t from 'tap'
import {existsSync, statSync} from 'node:fs'
import {basename} from 'node:path'
import {expectExit, fixture, makeStore, requireUser, runAsUser, tspod} from './harness.js'

t.test('the test user exists and owns subordinate id ranges', async t => {
  const user = requireUser()
  t.not(user.uid, 0, `${user.name} is not root`)
  t.ok(user.subuidCount >= 65536, `${user.name} has ${user.subuidCount} subuids`)
  t.ok(user.subgidCount >= 65536, `${user.name} has ${user.subgidCount} subgids`)
})

t.test('commands run as the test user', async t => {
  const user = requireUser()
  const result = await runAsUser(['id', '-u'])
  expectExit(t, result, 0)
  t.equal(result.stdout, String(user.uid), `as uid ${user.uid}`)
  t.not(result.stdout, '0', 'not as root')
})

t.test('XDG_RUNTIME_DIR is set and owned by the test user', async t => {
  const user = requireUser()
  const result = await runAsUser(['sh', '-c', 'printf "%s %s" "$XDG_RUNTIME_DIR" "$(stat -c %u "$XDG_RUNTIME_DIR")"'])
  expectExit(t, result, 0)
  t.equal(result.stdout, `${user.runtimeDir} ${user.uid}`, `${user.runtimeDir} owned by ${user.name}`)
})

t.test('the environment is a clean login one plus what the test passes', async t => {
  const user = requireUser()
  const result = await runAsUser(['env'], {env: {TSPOD_PROBE: 'yes'}})
  expectExit(t, result, 0)
  const env = Object.fromEntries(result.stdout.split('\n').map(line => line.split(/=(.*)/s, 2)))
  t.equal(env.HOME, user.home, 'HOME')
  t.equal(env.USER, user.name, 'USER')
  t.equal(env.TSPOD_PROBE, 'yes', 'a variable the test passes')
  t.notOk('TSPOD_TEST_STRICT' in env, 'the runner environment does not leak in')
})

t.test('input reaches stdin and failures are reported, not thrown', async t => {
  const echoed = await runAsUser(['cat'], {input: 'some input'})
  expectExit(t, echoed, 0)
  t.equal(echoed.stdout, 'some input', 'stdin')

  const failed = await runAsUser(['sh', '-c', 'echo out; echo broken >&2; exit 3'])
  expectExit(t, failed, 3, /^broken$/)
  t.equal(failed.stdout, 'out', 'stdout of a failing command')

  const slow = await runAsUser(['sleep', '30'], {timeoutMs: 300})
  t.not(slow.code, 0, 'a timed-out command does not exit 0')
  t.match(slow.stderr, /timed out after 300 ms: sleep 30/, 'the timeout is reported')
})

t.test('a store is private to its test, owned by the user, and removed afterwards', async t => {
  const user = requireUser()
  let dir = ''
  await t.test('uses a store', async t => {
    const store = makeStore(t)
    dir = store.dir
    t.match(basename(store.dir), /^harness-uses-a-store-[0-9a-f]{6}$/, 'the store is named after its test')
    for (const path of [store.dir, store.root, store.runroot, store.configHome]) {
      const stats = statSync(path)
      t.equal(stats.uid, user.uid, `${path} is owned by ${user.name}`)
      t.equal(stats.mode & 0o777, 0o700, `${path} is private`)
    }
    expectExit(t, await runAsUser(['touch', `${store.root}/written`]), 0)
  })
  t.ok(dir, 'the store was made')
  t.notOk(existsSync(dir), `${dir} is gone after its test`)
})

t.test('fixtures are found, and a missing one says how to build it', async t => {
  const busybox = fixture('busybox-rootfs.tar')
  expectExit(t, await runAsUser(['test', '-r', busybox]), 0)
  t.throws(() => fixture('no-such-fixture.tar'), /no-such-fixture\.tar is missing: run `npm run setup`/)
})

t.test('the CLI starts as the test user', async t => {
  expectExit(t, await tspod(t, null, ['--version']), 0)
})
