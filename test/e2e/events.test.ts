// `tspod events` from the per-user event log: what commands append, the
// filters and formats, --since/--until, and a live stream.
import t, {type Test} from 'tap'
import {expectExit, fixture, makeStore, requireUser, runAsUser, tspod, tspodBin} from './harness.js'

requireUser()
const store = makeStore(t)
const cli = [tspodBin, '--root', store.root, '--runroot', store.runroot]

interface JsonEvent {ID?: string; Name?: string; Status: string; Type: string; Attributes?: Record<string, string>}

async function events(t: Test, args: string[]): Promise<JsonEvent[]> {
  const r = await tspod(t, store, ['events', '--stream=false', '--format', 'json', ...args])
  expectExit(t, r, 0)
  return r.stdout === '' ? [] : r.stdout.split('\n').map(line => JSON.parse(line) as JsonEvent)
}

t.before(async () => {
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
})

t.test('commands append events; filters select them', async t => {
  expectExit(t, await tspod(t, store, ['tag', 'busybox', 'other']), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'web', '--label', 'app=x', 'busybox', 'sleep', '100']), 0)
  expectExit(t, await tspod(t, store, ['kill', 'web']), 0)
  expectExit(t, await tspod(t, store, ['rm', 'web']), 0)
  expectExit(t, await tspod(t, store, ['volume', 'create', 'data']), 0)
  expectExit(t, await tspod(t, store, ['volume', 'rm', 'data']), 0)

  const all = await events(t, [])
  t.same(all.map(e => `${e.Type} ${e.Status}`), [
    'image import', 'image tag',
    'container create', 'container start', 'container kill', 'container remove',
    'volume create', 'volume remove',
  ])
  const web = await events(t, ['--filter', 'container=web'])
  t.same(web.map(e => e.Status), ['create', 'start', 'kill', 'remove'])
  t.equal(web[0].Attributes?.app, 'x', 'container labels are attributes')
  t.same((await events(t, ['--filter', 'event=kill', '--filter', 'event=remove'])).map(e => e.Status), ['kill', 'remove', 'remove'], 'the container and the volume')
  t.same((await events(t, ['--filter', 'type=volume', '--filter', 'event=remove'])).map(e => e.Name), ['data'])
  t.same(await events(t, ['--until', '2000-01-01T00:00:00Z']), [])
  t.equal((await events(t, ['--since', '1h'])).length, all.length)

  const text = await tspod(t, store, ['events', '--stream=false', '--filter', 'event=create', '--filter', 'type=container'])
  t.match(text.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC container create [0-9a-f]{64} \(image=localhost\/busybox:latest, name=web, app=x\)$/)
  const template = await tspod(t, store, ['events', '--stream=false', '--filter', 'type=image', '--format', '{{.Status}}:{{.Name}}'])
  t.equal(template.stdout, 'import:busybox\ntag:other')

  expectExit(t, await tspod(t, store, ['events', '--stream=false', '--filter', 'color=red']), 125, /^Error: invalid filter "color=red"/m)
  expectExit(t, await tspod(t, store, ['events', '--stream=false', '--since', 'yesterday']), 125, /^Error: --since "yesterday": not a timestamp or a duration/m)
})

t.test('pods, secrets and networks append their events too', async t => {
  const since = new Date().toISOString()
  expectExit(t, await tspod(t, store, ['pod', 'create', '--name', 'evpod']), 0)
  expectExit(t, await tspod(t, store, ['pod', 'start', 'evpod']), 0)
  expectExit(t, await tspod(t, store, ['pod', 'stop', '-t', '0', 'evpod']), 0)
  expectExit(t, await tspod(t, store, ['pod', 'rm', 'evpod']), 0)
  expectExit(t, await tspod(t, store, ['secret', 'create', 'evsecret', '-'], {input: 'x'}), 0)
  expectExit(t, await tspod(t, store, ['secret', 'rm', 'evsecret']), 0)
  expectExit(t, await tspod(t, store, ['network', 'create', 'evnet']), 0)
  expectExit(t, await tspod(t, store, ['network', 'create', '--ignore', 'evnet']), 0)
  expectExit(t, await tspod(t, store, ['network', 'rm', 'evnet']), 0)
  const seen = (await events(t, ['--since', since, '--filter', 'type=pod', '--filter', 'type=secret', '--filter', 'type=network'])).map(e => `${e.Type} ${e.Status} ${e.Name}`)
  t.same(seen, [
    'pod create evpod', 'pod start evpod', 'pod stop evpod', 'pod remove evpod',
    'secret create evsecret', 'secret remove evsecret',
    'network create evnet', 'network remove evnet',
  ], 'one event each, in order; --ignore on an existing network creates nothing')
  t.same((await events(t, ['--since', since, '--filter', 'pod=evpod'])).map(e => e.Status), ['create', 'start', 'stop', 'remove'])
})

t.test('a stream shows new events as they happen', async t => {
  const script = '"$@" events --filter type=volume --format "{{.Status}} {{.Name}}" > "$OUT" & P=$!; sleep 1; "$@" volume create live >/dev/null; sleep 1; kill $P; wait $P; cat "$OUT"'
  const r = await runAsUser(['sh', '-c', script, 'sh', ...cli], {env: {OUT: `${store.dir}/stream.out`}})
  t.match(r.stdout, /create live$/m)
})
