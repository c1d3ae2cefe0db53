// Local images end to end, as the unprivileged user: import, list, inspect,
// tag, untag, history, exists, rmi, prune, df, check, reset.
import t from 'tap'
import {expectExit, fixture, makeStore, tspod, requireUser} from './harness.js'

const busybox = () => fixture('busybox-rootfs.tar')

t.test('import a rootfs tarball and list it', async t => {
  const store = makeStore(t)
  const imp = await tspod(t, store, ['import', '--change', 'CMD=["/bin/sh"]', '--change', 'LABEL app=demo', '--message', 'from the fixture', busybox(), 'busybox'])
  expectExit(t, imp, 0)
  t.match(imp.stdout, /^sha256:[a-f0-9]{64}$/, 'prints the new image ID')
  const id = imp.stdout.slice(7)

  const table = await tspod(t, store, ['images'])
  expectExit(t, table, 0)
  const lines = table.stdout.split('\n')
  t.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/, 'Podman header')
  t.match(lines[1], new RegExp(`^localhost/busybox\\s+latest\\s+${id.slice(0, 12)}\\s+(Less than a second|\\d+ seconds?) ago\\s+[\\d.]+ [kM]B$`), 'one row')

  const quiet = await tspod(t, store, ['image', 'ls', '-q'])
  t.equal(quiet.stdout, id.slice(0, 12), 'image ls -q')
  const tmpl = await tspod(t, store, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--no-trunc'])
  t.equal(tmpl.stdout, `localhost/busybox:latest sha256:${id}`, 'Go template with --no-trunc')
  const json = JSON.parse((await tspod(t, store, ['images', '--format', 'json'])).stdout)
  t.equal(json.length, 1)
  t.equal(json[0].Id, id)
  t.same(json[0].Names, ['localhost/busybox:latest'])
  t.same(json[0].Labels, {app: 'demo'})

  const inspect = await tspod(t, store, ['image', 'inspect', 'busybox'])
  expectExit(t, inspect, 0)
  const [report] = JSON.parse(inspect.stdout)
  t.equal(report.Id, id)
  t.same(report.Config.Cmd, ['/bin/sh'])
  t.equal(report.Config.Labels.app, 'demo')
  t.equal(report.Comment, 'from the fixture')
  t.equal(report.RootFS.Layers.length, 1)
  t.equal(report.Architecture, 'amd64')
  const fmt = await tspod(t, store, ['image', 'inspect', '--format', '{{.Id}} {{index .Config.Labels "app"}}', 'localhost/busybox:latest'])
  t.equal(fmt.stdout, `${id} demo`)

  const history = await tspod(t, store, ['history', 'busybox'])
  expectExit(t, history, 0)
  t.match(history.stdout, /^ID\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/)
  t.match(history.stdout, /from the fixture/)

  expectExit(t, await tspod(t, store, ['image', 'exists', 'busybox']), 0)
  expectExit(t, await tspod(t, store, ['image', 'exists', 'nothere']), 1)
})

t.test('files keep their owners through the user namespace', async t => {
  const user = requireUser()
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', busybox(), 'bb']), 0)
  const [report] = JSON.parse((await tspod(t, store, ['image', 'inspect', 'bb'])).stdout)
  const diff = report.GraphDriver.Data.UpperDir
  const inside = await tspod(t, store, ['unshare', 'stat', '-c', '%u:%g %a', `${diff}/home/tester`, `${diff}/tmp`, `${diff}/bin/busybox`])
  expectExit(t, inside, 0)
  t.equal(inside.stdout, '1000:1000 755\n0:0 1777\n0:0 755'.replace(/\n/g, '\n'), 'owners and modes as in the tarball, seen inside')
  if (user.switched) {
    const {statSync} = await import('node:fs')
    t.equal(statSync(`${diff}/home/tester`).uid, 100000 + 999, 'uid 1000 maps to subuid base + 999 outside')
    t.equal(statSync(`${diff}/bin/busybox`).uid, user.uid, 'uid 0 maps to the user outside')
  }
})

t.test('tag, untag, rmi, prune', async t => {
  const store = makeStore(t)
  const id = (await tspod(t, store, ['import', busybox(), 'one'])).stdout.slice(7)
  expectExit(t, await tspod(t, store, ['tag', 'one', 'two', 'quay.io/x/three:v1']), 0)
  let names = JSON.parse((await tspod(t, store, ['image', 'inspect', id])).stdout)[0].RepoTags
  t.same(names.sort(), ['localhost/one:latest', 'localhost/two:latest', 'quay.io/x/three:v1'])

  expectExit(t, await tspod(t, store, ['untag', id, 'two']), 0)
  names = JSON.parse((await tspod(t, store, ['image', 'inspect', id])).stdout)[0].RepoTags
  t.same(names.sort(), ['localhost/one:latest', 'quay.io/x/three:v1'])

  const rmiName = await tspod(t, store, ['rmi', 'three:v1'])
  expectExit(t, rmiName, 0)
  t.equal(rmiName.stdout, 'Untagged: quay.io/x/three:v1', 'removing one of several names only untags')

  const missing = await tspod(t, store, ['rmi', 'nothere'])
  expectExit(t, missing, 1, /^Error: nothere: image not known$/m)
  expectExit(t, await tspod(t, store, ['rmi', '-i', 'nothere']), 0)

  expectExit(t, await tspod(t, store, ['untag', id]), 0)
  const dangling = await tspod(t, store, ['images', '--filter', 'dangling=true', '--format', '{{.ID}} {{.Repository}}'])
  t.equal(dangling.stdout, `${id.slice(0, 12)} <none>`)

  const prune = await tspod(t, store, ['image', 'prune', '-f'])
  expectExit(t, prune, 0)
  t.equal(prune.stdout, id)
  t.equal((await tspod(t, store, ['images', '-q'])).stdout, '')
  const check = await tspod(t, store, ['system', 'check'])
  expectExit(t, check, 0)
  t.match(check.stdout, /No problems found/)
  t.notMatch(check.stdout, /Leftover/, 'removal left no layer or blob behind')
})

t.test('rmi of the last name removes image, layers and blobs', async t => {
  const store = makeStore(t)
  const id = (await tspod(t, store, ['import', busybox(), 'gone'])).stdout.slice(7)
  const rmi = await tspod(t, store, ['rmi', 'gone'])
  expectExit(t, rmi, 0)
  t.equal(rmi.stdout, `Untagged: localhost/gone:latest\nDeleted: ${id}`)
  const df = await tspod(t, store, ['system', 'df', '--format', '{{.Type}} {{.Total}} {{.Size}}'])
  t.match(df.stdout, /^Images 0 0B$/m)
})

t.test('filters, sort and errors', async t => {
  const store = makeStore(t)
  await tspod(t, store, ['import', '--change', 'LABEL tier=web', busybox(), 'web'])
  await tspod(t, store, ['import', '--change', 'LABEL tier=db', busybox(), 'db'])
  const web = await tspod(t, store, ['images', '--filter', 'label=tier=web', '--format', '{{.Repository}}'])
  t.equal(web.stdout, 'localhost/web')
  const ref = await tspod(t, store, ['images', '--filter', 'reference=d*', '--format', '{{.Repository}}'])
  t.equal(ref.stdout, 'localhost/db')
  const sorted = await tspod(t, store, ['images', '--sort', 'repository', '--format', '{{.Repository}}'])
  t.equal(sorted.stdout, 'localhost/db\nlocalhost/web')
  expectExit(t, await tspod(t, store, ['images', '--filter', 'colour=red']), 125, /^Error: invalid image filter "colour"/m)
  expectExit(t, await tspod(t, store, ['images', '--sort', 'colour']), 125, /^Error: invalid argument "colour" for "--sort" flag/m)
  expectExit(t, await tspod(t, store, ['images', '--bogus']), 125, /^Error: unknown flag: --bogus$/m)
  expectExit(t, await tspod(t, store, ['image', 'inspect', 'nothere']), 125, /^Error: nothere: image not known$/m)
  expectExit(t, await tspod(t, store, ['import', '/nonexistent.tar']), 125, /^Error: \/nonexistent.tar: no such file or directory$/m)
  expectExit(t, await tspod(t, store, ['import', busybox(), 'Bad:Name']), 125, /invalid reference format/)
  expectExit(t, await tspod(t, store, ['frobnicate']), 125, /^Error: unrecognized command `tspod frobnicate`$/m)
})

t.test('import from stdin, gzip and zstd', async t => {
  const store = makeStore(t)
  const {readFileSync} = await import('node:fs')
  const {gzipSync} = await import('node:zlib')
  const plain = readFileSync(busybox())
  const a = await tspod(t, store, ['import', '-', 'from-stdin'], {input: plain})
  expectExit(t, a, 0)
  const b = await tspod(t, store, ['import', '-', 'from-gzip'], {input: gzipSync(plain)})
  expectExit(t, b, 0)
  const {execFileSync} = await import('node:child_process')
  const zst = execFileSync('zstd', ['-c', '-q', busybox()], {maxBuffer: 64 << 20})
  const c = await tspod(t, store, ['import', '-', 'from-zstd'], {input: zst})
  expectExit(t, c, 0)
  const layers = JSON.parse((await tspod(t, store, ['image', 'inspect', 'from-stdin', 'from-gzip', 'from-zstd'])).stdout).map((r: {RootFS: {Layers: string[]}}) => r.RootFS.Layers[0])
  t.equal(new Set(layers).size, 1, 'the same layer (DiffID) whatever the compression')
})

t.test('system reset removes everything, running containers too', async t => {
  const store = makeStore(t)
  await tspod(t, store, ['import', busybox(), 'x'])
  // Each round leaves rm -f's hand-off to the monitors racing the store's removal.
  for (let i = 0; i < 3; i++) {
    expectExit(t, await tspod(t, store, ['import', busybox(), 'x']), 0)
    expectExit(t, await tspod(t, store, ['run', '-d', 'x', 'sleep', '100']), 0)
    expectExit(t, await tspod(t, store, ['run', '-d', 'x', 'sleep', '100']), 0)
    expectExit(t, await tspod(t, store, ['system', 'reset', '-f']), 0)
    t.equal((await tspod(t, store, ['images', '-q'])).stdout, '')
    t.equal((await tspod(t, store, ['ps', '-aq'])).stdout, '')
  }
})

t.test('import from a URL', async t => {
  const store = makeStore(t)
  const {createServer} = await import('node:http')
  const {readFileSync} = await import('node:fs')
  const body = readFileSync(busybox())
  const server = createServer((req, res) => {
    if (req.url === '/rootfs.tar') {
      res.writeHead(200, {'content-length': body.length})
      res.end(body)
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const port = (server.address() as {port: number}).port
  const ok = await tspod(t, store, ['import', `http://127.0.0.1:${port}/rootfs.tar`, 'fromurl'])
  expectExit(t, ok, 0)
  t.match(ok.stdout, /^sha256:[a-f0-9]{64}$/)
  expectExit(t, await tspod(t, store, ['import', `http://127.0.0.1:${port}/missing.tar`, 'nope']), 125, /HTTP 404/)
})

t.test('help on every command', async t => {
  const help = await tspod(t, null, ['--help'])
  expectExit(t, help, 0)
  t.match(help.stdout, /USAGE/)
  const cmd = await tspod(t, null, ['help', 'images'])
  expectExit(t, cmd, 0)
  t.match(cmd.stdout, /List images in local storage/)
  const flag = await tspod(t, null, ['image', 'ls', '--help'])
  t.match(flag.stdout, /--no-trunc/)
  const version = await tspod(t, null, ['version', '--format', 'json'])
  expectExit(t, version, 0)
  t.match(JSON.parse(version.stdout).Client.Version, /^\d+\.\d+\.\d+/)
  t.match((await tspod(t, null, ['--version'])).stdout, /^tspod version \d+\.\d+\.\d+$/)
})
