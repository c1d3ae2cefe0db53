// tspod save → podman load, and podman save → tspod load: the archives are
// interchangeable both ways. Podman runs as the same unprivileged user with
// its own root, runroot, HOME and XDG_RUNTIME_DIR in a temporary directory
// (vfs, runc, cgroupfs: what works rootless on this host), so it touches
// nothing of the user's; its pause process is stopped at the end.
import t, {type Test} from 'tap'
import {join} from 'node:path'
import {expectExit, fixture, makePodman, makeStore, runAsUser, tspod, tspodBin, type RunOptions, type RunResult, type Store} from './harness.js'

interface Inspected {
  Id: string
  RepoTags: string[]
  RootFS: {Layers: string[]}
  GraphDriver: {Data: {UpperDir?: string}}
}

function parseInspect(t: Test, result: RunResult): Inspected {
  expectExit(t, result, 0)
  const parsed = JSON.parse(result.stdout) as Inspected[]
  t.equal(parsed.length, 1, `${result.command} shows one image`)
  return parsed[0]
}

/** Runs a shell line as the test user: for pipes and redirections of binary data. */
function shell(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return runAsUser(['sh', '-c', script], opts)
}

function tspodLine(store: Store): string {
  return `${tspodBin} --root ${store.root} --runroot ${store.runroot}`
}

t.test('tspod save is loaded and run by podman', async t => {
  const store = makeStore(t)
  const podman = await makePodman(t)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  const ours = parseInspect(t, await tspod(t, store, ['image', 'inspect', 'busybox']))
  t.same(ours.RepoTags, ['localhost/busybox:latest'])

  for (const format of ['docker-archive', 'oci-archive']) {
    const archive = join(store.dir, `busybox-${format}.tar`)
    const saved = await tspod(t, store, ['save', '--format', format, '-o', archive, 'busybox'])
    expectExit(t, saved, 0)
    t.equal(saved.stdout, '', `save --format ${format} prints nothing`)

    const loaded = await podman.run(['load', '-i', archive])
    expectExit(t, loaded, 0)
    t.match(loaded.stdout, /^Loaded image: localhost\/busybox:latest$/m, `podman loads the ${format}`)
    const theirs = parseInspect(t, await podman.run(['image', 'inspect', 'localhost/busybox:latest']))
    t.equal(theirs.Id, ours.Id, `${format}: the same image ID in podman`)
    t.same(theirs.RootFS.Layers, ours.RootFS.Layers, `${format}: the same layers in podman`)

    const ran = await podman.run(['run', '--rm', '--network=none', 'localhost/busybox:latest', 'busybox', 'echo', 'ok'])
    expectExit(t, ran, 0)
    t.equal(ran.stdout.trim(), 'ok', `podman runs the image from the ${format}`)
    expectExit(t, await podman.run(['rmi', '-f', 'localhost/busybox:latest']), 0)
  }

  const piped = join(store.dir, 'piped.tar')
  expectExit(t, await shell(`${tspodLine(store)} save busybox > ${piped}`, {env: {XDG_CONFIG_HOME: store.configHome}}), 0)
  expectExit(t, await podman.run(['load', '-i', piped]), 0)
  t.equal(parseInspect(t, await podman.run(['image', 'inspect', 'localhost/busybox:latest'])).Id, ours.Id, 'a save to stdout loads too')
})

t.test('podman save is loaded by tspod, both formats, the same ID and layers', async t => {
  const store = makeStore(t)
  const podman = await makePodman(t)
  expectExit(t, await podman.run(['import', fixture('busybox-rootfs.tar'), 'localhost/pbox:latest']), 0)
  const theirs = parseInspect(t, await podman.run(['image', 'inspect', 'localhost/pbox:latest']))
  const docker = join(store.dir, 'pbox.tar')
  const oci = join(store.dir, 'pbox-oci.tar')
  expectExit(t, await podman.run(['save', '-o', docker, 'localhost/pbox:latest']), 0)
  // Podman gzips the layers of an oci-archive: this also loads a compressed layer.
  expectExit(t, await podman.run(['save', '--format', 'oci-archive', '-o', oci, 'localhost/pbox:latest']), 0)

  const loaded = await tspod(t, store, ['load', '-i', docker])
  expectExit(t, loaded, 0)
  t.equal(loaded.stdout, 'Loaded image: localhost/pbox:latest', 'Podman 4 output')
  const ours = parseInspect(t, await tspod(t, store, ['image', 'inspect', 'localhost/pbox']))
  t.equal(ours.Id, theirs.Id, 'docker-archive: the image ID Podman has')
  t.same(ours.RootFS.Layers, theirs.RootFS.Layers, 'docker-archive: the layers Podman has')
  const upper = ours.GraphDriver.Data.UpperDir
  t.ok(upper, 'the layer directory is shown')
  const passwd = await tspod(t, store, ['unshare', 'cat', `${upper}/etc/passwd`])
  expectExit(t, passwd, 0)
  t.match(passwd.stdout, /^tester:x:1000:1000:/m, 'layer content')
  const owner = await tspod(t, store, ['unshare', 'stat', '-c', '%u:%g', `${upper}/home/tester`])
  expectExit(t, owner, 0)
  t.equal(owner.stdout, '1000:1000', 'a non-root owner survives the trip')

  const other = makeStore(t)
  const fromOci = await tspod(t, other, ['load', '-i', oci])
  expectExit(t, fromOci, 0)
  t.equal(fromOci.stdout, 'Loaded image: localhost/pbox:latest')
  const viaOci = parseInspect(t, await tspod(t, other, ['image', 'inspect', 'localhost/pbox']))
  t.equal(viaOci.Id, theirs.Id, 'oci-archive: the image ID Podman has')
  t.same(viaOci.RootFS.Layers, theirs.RootFS.Layers, 'oci-archive: the layers Podman has')

  const third = makeStore(t)
  const gz = await shell(`gzip -c ${docker} | ${tspodLine(third)} load`, {env: {XDG_CONFIG_HOME: third.configHome}})
  expectExit(t, gz, 0)
  t.equal(gz.stdout, 'Loaded image: localhost/pbox:latest', 'a gzip-compressed archive on stdin')
  t.equal(parseInspect(t, await tspod(t, third, ['image', 'inspect', 'localhost/pbox'])).Id, theirs.Id)
})

t.test('save and load refuse what Podman refuses, with its messages', async t => {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  expectExit(t, await tspod(t, store, ['save', '-o', join(store.dir, 'a:b.tar'), 'busybox']), 125, `Error: invalid filename (should not contain ':') "${join(store.dir, 'a:b.tar')}"`)
  expectExit(t, await tspod(t, store, ['save', '--format', 'oci-archive', '-m', '-o', join(store.dir, 'x.tar'), 'busybox', 'busybox']), 125, 'Error: unsupported format "oci-archive" for saving multiple images (only docker-archive)')
  expectExit(t, await tspod(t, store, ['save', '-o', join(store.dir, 'x.tar'), 'nosuch']), 125, 'Error: nosuch: image not known')
  expectExit(t, await tspod(t, store, ['load', '-i', join(store.dir, 'nosuch.tar')]), 125, `Error: ${join(store.dir, 'nosuch.tar')}: no such file or directory`)
  const garbage = join(store.dir, 'garbage.tar')
  expectExit(t, await runAsUser(['sh', '-c', `head -c 4096 /dev/zero > ${garbage}`]), 0)
  expectExit(t, await tspod(t, store, ['load', '-i', garbage]), 125, /^Error: payload does not match any of the supported image formats/)
})
