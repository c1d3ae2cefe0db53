// Small Podman-compatibility behaviours, each checked against what Podman
// 4.3.1 does: exec sees env-type secrets, a topic alone prints its help,
// `import -q` still prints the ID, and a name is found before an ID prefix.
import t from 'tap'
import {expectExit, fixture, makeStore, requireUser, runAsUser, tspod} from './harness.js'

requireUser()
const store = makeStore(t)

t.before(async () => {
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
})
t.teardown(async () => {
  await tspod(t, store, ['rm', '-af', '-t', '0'])
})

t.test('exec sees the env-type secrets the container was run with, read when it runs', async t => {
  expectExit(t, await tspod(t, store, ['secret', 'create', 'token', '-'], {input: 'first-value'}), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'secret-holder', '--secret', 'token,type=env,target=TOKEN', 'busybox', 'sleep', '300']), 0)
  const show = ['exec', 'secret-holder', 'sh', '-c', 'echo "[$TOKEN]"']
  const seen = await tspod(t, store, show)
  expectExit(t, seen, 0)
  t.equal(seen.stdout, '[first-value]')
  // Podman 4 applies the secret after -e.
  const overridden = await tspod(t, store, ['exec', '-e', 'TOKEN=other', 'secret-holder', 'sh', '-c', 'echo "[$TOKEN]"'])
  t.equal(overridden.stdout, '[first-value]')
  t.notMatch((await tspod(t, store, ['inspect', 'secret-holder'])).stdout, 'first-value', 'inspect does not show the value')

  expectExit(t, await tspod(t, store, ['secret', 'create', '--replace', 'token', '-'], {input: 'second-value'}), 0)
  t.equal((await tspod(t, store, show)).stdout, '[second-value]', 'a replaced secret gives its new value')
  expectExit(t, await tspod(t, store, ['secret', 'rm', 'token']), 0)
  expectExit(t, await tspod(t, store, show), 125, /^Error: no secret with name or id "token": no such secret$/m)
})

t.test('a healthcheck sees the env-type secrets too', async t => {
  expectExit(t, await tspod(t, store, ['secret', 'create', 'probe', '-'], {input: 'ok-value'}), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'health-secret', '--secret', 'probe,type=env,target=PROBE', '--health-cmd', 'test "$PROBE" = ok-value', '--health-interval', '0', 'busybox', 'sleep', '300']), 0)
  expectExit(t, await tspod(t, store, ['healthcheck', 'run', 'health-secret']), 0)
  t.equal((await tspod(t, store, ['inspect', '--format', '{{.State.Health.Status}}', 'health-secret'])).stdout, 'healthy')
})

t.test('a topic alone prints its help, then that a command is missing', async t => {
  for (const topic of ['pod', 'network', 'image', 'container']) {
    const bare = await tspod(t, null, [topic])
    expectExit(t, bare, 125)
    t.equal(bare.stderr, `Error: missing command 'tspod ${topic} COMMAND'`)
    t.match(bare.stdout, new RegExp(`^  \\$ tspod ${topic} COMMAND$`, 'm'), 'the topic\'s usage')
    t.match(bare.stdout, new RegExp(`^  ${topic} (ls|list|create) `, 'm'), 'its commands')
  }
  const help = await tspod(t, null, ['pod', '--help'])
  expectExit(t, help, 0)
  t.match(help.stdout, /^ {2}pod create /m)
  t.equal((await tspod(t, null, ['help', 'pod'])).stdout, help.stdout, '`help pod` shows the same')
  expectExit(t, await tspod(t, null, ['pod', 'bogus']), 125, /^Error: unrecognized command `tspod pod bogus`\nTry 'tspod pod --help' for more information$/)
  expectExit(t, await tspod(t, null, ['bogus']), 125, /^Error: unrecognized command `tspod bogus`\nTry 'tspod --help' for more information$/)
  const root = await tspod(t, null, [])
  expectExit(t, root, 0)
  t.match(root.stdout, /^TOPICS$/m, '`tspod` alone still shows the main help')
})

t.test('import -q prints only the new image ID', async t => {
  const quiet = await tspod(t, store, ['import', '-q', fixture('busybox-rootfs.tar'), 'quiet-import'])
  expectExit(t, quiet, 0)
  t.match(quiet.stdout, /^sha256:[0-9a-f]{64}$/)
  const id = await tspod(t, store, ['images', '--no-trunc', '-q', 'quiet-import'])
  t.equal(quiet.stdout, id.stdout)
})

t.test('a container or an image named like an ID prefix is found by its name', async t => {
  const first = await tspod(t, store, ['create', 'busybox', 'true'])
  expectExit(t, first, 0)
  const prefix = first.stdout.slice(0, 6)
  const named = await tspod(t, store, ['create', '--name', prefix, 'busybox', 'true'])
  expectExit(t, named, 0)
  t.equal((await tspod(t, store, ['container', 'inspect', '--format', '{{.Id}}', prefix])).stdout, named.stdout, 'the name wins')
  t.equal((await tspod(t, store, ['container', 'inspect', '--format', '{{.Id}}', first.stdout.slice(0, 12)])).stdout, first.stdout, 'a prefix no name matches is an ID')

  const busybox = (await tspod(t, store, ['images', '--no-trunc', '-q', 'busybox'])).stdout.replace(/^sha256:/, '')
  const other = await tspod(t, store, ['import', '-q', '--change', 'ENV X=1', fixture('busybox-rootfs.tar')])
  expectExit(t, other, 0)
  const imagePrefix = busybox.slice(0, 6)
  expectExit(t, await tspod(t, store, ['tag', other.stdout, imagePrefix]), 0)
  t.equal((await tspod(t, store, ['image', 'inspect', '--format', '{{.Id}}', imagePrefix])).stdout, other.stdout.replace(/^sha256:/, ''), 'localhost/PREFIX wins over the ID prefix')
  t.equal((await tspod(t, store, ['image', 'inspect', '--format', '{{.Id}}', busybox.slice(0, 8)])).stdout, busybox, 'a prefix no name matches is an ID')

  // An image named like the start of its own ID: the name wins for rmi and save too.
  const own = busybox.slice(0, 7)
  expectExit(t, await tspod(t, store, ['tag', 'busybox', own]), 0)
  const saved = await tspod(t, store, ['save', '-o', `${store.dir}/own.tar`, own])
  expectExit(t, saved, 0)
  const manifest = await runAsUser(['tar', '-xOf', `${store.dir}/own.tar`, 'manifest.json'])
  t.match(manifest.stdout, `"localhost/${own}:latest"`, 'save NAME records the name it was given')
  const rmi = await tspod(t, store, ['rmi', own])
  expectExit(t, rmi, 0)
  t.equal(rmi.stdout, `Untagged: localhost/${own}:latest`, 'rmi NAME of an image with another name only untags it')
  t.equal((await tspod(t, store, ['images', '--no-trunc', '-q', 'busybox'])).stdout.replace(/^sha256:/, ''), busybox, 'the image stays')
})
