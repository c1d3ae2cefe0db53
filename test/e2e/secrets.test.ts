// Secrets end to end: created from a file, stdin and the environment, given
// to containers as files and variables, and never shown where they should not
// be (inspect, ls, the container's record, debug logs).
import t from 'tap'
import {chownSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expectExit, fixture, makeStore, requireUser, tspod} from './harness.js'

const user = requireUser()
const store = makeStore(t)
const VALUE = 'tops3cret-value'
const secretFile = join(store.dir, 'secret.txt')

t.before(async () => {
  writeFileSync(secretFile, VALUE)
  if (user.switched) chownSync(secretFile, user.uid, user.gid)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
})
t.teardown(async () => {
  await tspod(t, store, ['rm', '-af', '-t', '0'])
})

t.test('create from a file, stdin and the environment; ls, inspect, exists', async t => {
  const created = await tspod(t, store, ['--log-level=debug', 'secret', 'create', 'db', secretFile])
  expectExit(t, created, 0)
  t.match(created.stdout, /^[0-9a-f]{25}$/, 'prints the new id')
  t.notMatch(created.stdout + created.stderr, VALUE, 'the value is not printed or logged')
  expectExit(t, await tspod(t, store, ['secret', 'create', 'piped', '-'], {input: 'from-stdin'}), 0)
  expectExit(t, await tspod(t, store, ['secret', 'create', '--env', '--label', 'team=a', 'fromenv', 'MY_SECRET'], {env: {MY_SECRET: 'from-env'}}), 0)
  expectExit(t, await tspod(t, store, ['secret', 'create', 'db', secretFile]), 125, /^Error: secret name db is already in use/m)
  expectExit(t, await tspod(t, store, ['secret', 'create', 'db', '--replace', secretFile]), 0)
  expectExit(t, await tspod(t, store, ['secret', 'create', 'bad/name', secretFile]), 125, /^Error: secret name "bad\/name" is invalid/m)
  expectExit(t, await tspod(t, store, ['secret', 'create', 'x', join(store.dir, 'missing')]), 125, /no such file/)
  expectExit(t, await tspod(t, store, ['secret', 'create', '--env', 'x', 'UNSET_VAR_X']), 125, /UNSET_VAR_X is not set/)

  const ls = await tspod(t, store, ['secret', 'ls', '--format', '{{.Name}} {{.Driver}}'])
  expectExit(t, ls, 0)
  t.same(ls.stdout.split('\n').sort(), ['db file', 'fromenv file', 'piped file'])
  const filtered = await tspod(t, store, ['secret', 'ls', '--filter', 'label=team=a', '--format', '{{.Name}}'])
  t.equal(filtered.stdout, 'fromenv')

  const inspect = await tspod(t, store, ['secret', 'inspect', 'db'])
  expectExit(t, inspect, 0)
  const [record] = JSON.parse(inspect.stdout) as Array<{ID: string; Spec: {Name: string}; SecretData?: string}>
  t.equal(record.Spec.Name, 'db')
  t.equal(record.SecretData, undefined, 'inspect hides the data')
  t.notMatch(inspect.stdout, VALUE)
  const shown = await tspod(t, store, ['secret', 'inspect', '--showsecret', '--format', '{{.SecretData}}', 'db'])
  t.equal(shown.stdout, VALUE, '--showsecret shows it')
  expectExit(t, await tspod(t, store, ['secret', 'exists', 'db']), 0)
  expectExit(t, await tspod(t, store, ['secret', 'exists', record.ID.slice(0, 8)]), 0, undefined)
  expectExit(t, await tspod(t, store, ['secret', 'exists', 'nope']), 1)
  expectExit(t, await tspod(t, store, ['secret', 'inspect', 'nope']), 125, /^Error: no secret with name or id "nope": no such secret/m)

  const dir = join(store.root, 'secrets')
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the secrets directory is private')
  for (const f of readdirSync(join(dir, 'data'))) t.equal(statSync(join(dir, 'data', f)).mode & 0o777, 0o600, `data file ${f} is 0600`)
  t.notMatch(readFileSync(join(dir, 'secrets.json'), 'utf8'), VALUE, 'the metadata holds no data')
})

t.test('run --secret as a file and as an environment variable', async t => {
  const run = await tspod(t, store, ['run', '--rm',
    '--secret', 'db', '--secret', 'db,target=copy,uid=1000,mode=0400', '--secret', 'fromenv,type=env,target=TOKEN',
    'busybox', 'sh', '-c', 'cat /run/secrets/db; echo; stat -c "%u %a" /run/secrets/copy; echo $TOKEN; echo x > /run/secrets/db || echo read-only'])
  expectExit(t, run, 0)
  t.same(run.stdout.split('\n'), [VALUE, '1000 400', 'from-env', 'read-only'])

  expectExit(t, await tspod(t, store, ['create', '--name', 'holder', '--secret', 'fromenv,type=env', 'busybox', 'sh', '-c', 'echo $fromenv']), 0)
  const inspect = await tspod(t, store, ['inspect', 'holder'])
  t.notMatch(inspect.stdout, 'from-env', 'container inspect does not show the value')
  t.match(inspect.stdout, /"Secrets": \[/)
  // Removing the secret does not break a container that already has it.
  expectExit(t, await tspod(t, store, ['secret', 'rm', 'fromenv']), 0)
  const started = await tspod(t, store, ['start', '-a', 'holder'])
  expectExit(t, started, 0)
  t.equal(started.stdout, 'from-env')

  expectExit(t, await tspod(t, store, ['run', '--rm', '--secret', 'nope', 'busybox', 'true']), 125, /^Error: no secret with name or id "nope"/m)
  expectExit(t, await tspod(t, store, ['run', '--rm', '--secret', 'db,type=file', 'busybox', 'true']), 125, /type must be mount or env/)
  const ps = await tspod(t, store, ['ps', '-a', '-q'])
  t.equal(ps.stdout.split('\n').filter(Boolean).length, 1, 'refused runs leave no container behind')
  t.same(readdirSync(join(store.root, 'containers')).length, 1, 'nor a directory')
})

t.test('rm: by name, --all, --ignore', async t => {
  expectExit(t, await tspod(t, store, ['secret', 'rm', 'nope']), 125, /no such secret/)
  expectExit(t, await tspod(t, store, ['secret', 'rm', '-i', 'nope']), 0)
  expectExit(t, await tspod(t, store, ['secret', 'rm']), 125, /at least one secret/)
  expectExit(t, await tspod(t, store, ['secret', 'rm', '--all']), 0)
  const ls = await tspod(t, store, ['secret', 'ls', '-q'])
  t.equal(ls.stdout, '')
  t.same(readdirSync(join(store.root, 'secrets', 'data')), [], 'no data file is left')
})
