// Pull and push against a real docker-registry on loopback, as the
// unprivileged user: tspod push → tspod pull into a fresh store → run; a
// five-layer image; Podman interop both ways; basic auth with login and
// logout; TLS with a CA in a certs.d-style directory.
import t, {type Test} from 'tap'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expectExit, fixture, makePodman, makeStore, runAsUser, tspod, type RunOptions, type RunResult, type Store} from './harness.js'
import {makeFiveLayerArchive, startRegistry, startTokenServer, writeRegistriesConf} from './registry-harness.js'

const ID = /^[a-f0-9]{64}$/

function storeFor(t: Test, registries: string[]): Store {
  const store = makeStore(t)
  writeRegistriesConf(store, registries)
  return store
}

t.test('tspod push, then pull into a fresh store and run', async t => {
  const registry = await startRegistry(t)
  const image = `${registry.host}/test/busybox:1`
  const a = storeFor(t, [registry.host])
  const imported = await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image])
  expectExit(t, imported, 0)
  const id = imported.stdout.trim().replace(/^sha256:/, '')

  const pushed = await tspod(t, a, ['push', image])
  expectExit(t, pushed, 0)
  t.equal(pushed.stdout, '', 'push prints nothing on stdout')
  t.match(pushed.stderr, /^Getting image source signatures\nCopying blob sha256:[a-f0-9]{64}\nCopying config sha256:[a-f0-9]{64}\nWriting manifest to image destination$/, 'Podman-style progress lines')
  const again = await tspod(t, a, ['push', image])
  expectExit(t, again, 0)
  t.match(again.stderr, /Copying blob sha256:[a-f0-9]{64} skipped: already exists/, 'a blob the registry has is not uploaded again')

  const digestFile = join(a.dir, 'digest')
  const v2 = await tspod(t, a, ['image', 'push', '--format', 'v2s2', '--digestfile', digestFile, image, `docker://${registry.host}/test/busybox:v2s2`])
  expectExit(t, v2, 0)
  t.match(readFileSync(digestFile, 'utf8'), /^sha256:[a-f0-9]{64}$/, '--digestfile holds the manifest digest')

  const b = storeFor(t, [registry.host])
  const pulled = await tspod(t, b, ['pull', image])
  expectExit(t, pulled, 0)
  t.equal(pulled.stdout.trim(), id, 'pull prints the image ID, which is the pushed one')
  t.match(pulled.stderr, new RegExp(`^Trying to pull ${image.replaceAll('.', '\\.')}\\.\\.\\.\\nGetting image source signatures\\nCopying blob sha256:[a-f0-9]{64}\\nCopying config sha256:${id}\\nWriting manifest to image destination$`))
  const run = await tspod(t, b, ['run', '--rm', image, 'echo', 'ok'])
  expectExit(t, run, 0)
  t.equal(run.stdout.trim(), 'ok', 'the pulled image runs')

  const quiet = await tspod(t, b, ['pull', '-q', image, `${registry.host}/test/busybox:v2s2`])
  expectExit(t, quiet, 0)
  t.equal(quiet.stdout, `${id}\n${id}`, '-q prints only the IDs, one per reference')
  t.equal(quiet.stderr, '', '-q is silent on stderr')
  const images = await tspod(t, b, ['images', '--format', '{{.Repository}}:{{.Tag}}'])
  t.match(images.stdout, `${registry.host}/test/busybox:v2s2`)

  const mounted = await tspod(t, a, ['push', image, `${registry.host}/test/copy:1`])
  expectExit(t, mounted, 0)
  t.match(mounted.stderr, /Copying blob sha256:[a-f0-9]{64} skipped: mounted from another repository/, 'a blob in another repository of the registry is mounted')

  const zstd = await tspod(t, a, ['push', '--compression-format', 'zstd', image, `${registry.host}/test/zstd:1`])
  expectExit(t, zstd, 0)
  const zstdManifest = await fetch(`${registry.url}/v2/test/zstd/manifests/1`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'}}).then(r => r.json()) as {layers: Array<{mediaType: string}>}
  t.equal(zstdManifest.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd', 'the layer went up as zstd')
  const z = storeFor(t, [registry.host])
  expectExit(t, await tspod(t, z, ['pull', '-q', `${registry.host}/test/zstd:1`]), 0)
  const zrun = await tspod(t, z, ['run', '--rm', `${registry.host}/test/zstd:1`, 'echo', 'ok'])
  expectExit(t, zrun, 0)
  t.equal(zrun.stdout.trim(), 'ok', 'a zstd image pulls and runs')
  const zv2 = await tspod(t, a, ['push', '--format', 'v2s2', '--compression-format', 'zstd', image])
  expectExit(t, zv2, 125, /--compression-format zstd needs --format oci/)

  const byDigest = readFileSync(digestFile, 'utf8')
  const c = storeFor(t, [registry.host])
  const digestPull = await tspod(t, c, ['pull', '-q', `${registry.host}/test/busybox@${byDigest}`])
  expectExit(t, digestPull, 0)
  t.equal(digestPull.stdout.trim(), id, 'pull by digest')

  const found = await tspod(t, b, ['search', `${registry.host}/busy`])
  expectExit(t, found, 0)
  t.equal(found.stdout, `NAME${' '.repeat(registry.host.length + 12)}DESCRIPTION\n${registry.host}/test/busybox`, 'search lists matches from the catalog')
  const tags = await tspod(t, b, ['search', '--list-tags', '--format', '{{.Tag}}', `${registry.host}/test/busybox`])
  expectExit(t, tags, 0)
  t.same(tags.stdout.split('\n').sort(), ['1', 'v2s2'], 'search --list-tags')

  const missing = await tspod(t, b, ['pull', `${registry.host}/test/busybox:nope`])
  expectExit(t, missing, 125, /manifest unknown: repository test\/busybox has no tag nope/)
  const noRepo = await tspod(t, b, ['pull', `${registry.host}/no/such:1`])
  expectExit(t, noRepo, 125, /repository no\/such has no tag 1/)
})

t.test('a five-layer image round-trips and runs', async t => {
  const registry = await startRegistry(t)
  const image = `${registry.host}/test/five:1`
  const a = storeFor(t, [registry.host])
  const archive = join(a.dir, 'five.tar')
  await makeFiveLayerArchive(archive, image)
  expectExit(t, await tspod(t, a, ['load', '-i', archive]), 0)
  const pushed = await tspod(t, a, ['push', image])
  expectExit(t, pushed, 0)
  t.equal(pushed.stderr.match(/Copying blob/g)?.length, 5, 'five blobs pushed')

  const b = storeFor(t, [registry.host])
  const pulled = await tspod(t, b, ['pull', '--progress', 'json', image])
  expectExit(t, pulled, 0)
  t.match(pulled.stdout.trim(), ID)
  const events = pulled.stderr.split('\n').map(line => JSON.parse(line) as {type: string; what?: string})
  t.equal(events.filter(e => e.type === 'blob-done' && e.what === 'blob').length, 5, '--progress json: one blob-done event per layer')
  t.ok(events.some(e => e.type === 'blob-bytes'), '--progress json: byte counts')
  const [inspect] = JSON.parse((await tspod(t, b, ['image', 'inspect', image])).stdout)
  t.equal(inspect.RootFS.Layers.length, 5, 'five layers in the pulled image')
  const run = await tspod(t, b, ['run', '--rm', image, 'cat', '/layer1.txt', '/layer4.txt'])
  expectExit(t, run, 0)
  t.equal(run.stdout, 'this is layer 1\nthis is layer 4', 'files of every layer are there')

  const v = storeFor(t, [registry.host])
  const vfs = await tspod(t, v, ['--storage-driver', 'vfs', 'pull', '-q', image])
  expectExit(t, vfs, 0)
  const vfsRun = await tspod(t, v, ['--storage-driver', 'vfs', 'run', '--rm', image, 'cat', '/layer1.txt', '/layer4.txt'])
  expectExit(t, vfsRun, 0)
  t.equal(vfsRun.stdout, 'this is layer 1\nthis is layer 4', 'the vfs driver stacks the layers in order')
})

t.test('podman and tspod exchange images through the registry', async t => {
  const registry = await startRegistry(t)
  const podman = await makePodman(t)
  const a = storeFor(t, [registry.host])
  const ours = `${registry.host}/interop/from-tspod:1`
  expectExit(t, await tspod(t, a, ['import', '--change', 'CMD=["/bin/sh"]', fixture('busybox-rootfs.tar'), ours]), 0)
  expectExit(t, await tspod(t, a, ['push', ours]), 0)
  expectExit(t, await podman.run(['pull', '--tls-verify=false', ours]), 0)
  const podmanRun = await podman.run(['run', '--rm', ours, 'echo', 'ok'])
  expectExit(t, podmanRun, 0)
  t.equal(podmanRun.stdout.trim(), 'ok', 'podman runs what tspod pushed')

  const theirs = `${registry.host}/interop/from-podman:1`
  expectExit(t, await podman.run(['tag', ours, theirs]), 0)
  expectExit(t, await podman.run(['push', '--tls-verify=false', theirs]), 0)
  const b = storeFor(t, [registry.host])
  expectExit(t, await tspod(t, b, ['pull', theirs]), 0)
  const run = await tspod(t, b, ['run', '--rm', theirs, 'echo', 'ok'])
  expectExit(t, run, 0)
  t.equal(run.stdout.trim(), 'ok', 'tspod runs what podman pushed')
})

t.test('basic auth: login, push, logout, and the hint when credentials are missing', async t => {
  const registry = await startRegistry(t, {auth: {username: 'alice', password: 's3cret pass'}})
  const a = storeFor(t, [registry.host])
  const authFile = join(a.dir, 'auth.json')
  const env = {REGISTRY_AUTH_FILE: authFile}
  const image = `${registry.host}/private/busybox:1`
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)

  const denied = await tspod(t, a, ['push', image], {env})
  expectExit(t, denied, 125, new RegExp(`authentication required\\nRun: tspod login ${registry.host.replaceAll('.', '\\.')}`))

  const wrong = await tspod(t, a, ['login', '-u', 'alice', '-p', 'nope', registry.host], {env})
  expectExit(t, wrong, 125, /invalid username\/password/)
  t.notMatch(wrong.stderr + wrong.stdout, 'nope', 'the password never appears')

  const login = await tspod(t, a, ['login', '-u', 'alice', '--password-stdin', registry.host], {env, input: 's3cret pass\n'})
  expectExit(t, login, 0)
  t.equal(login.stdout, 'Login Succeeded!')
  const stored = JSON.parse(readFileSync(authFile, 'utf8'))
  t.same(stored.auths[registry.host], {auth: Buffer.from('alice:s3cret pass').toString('base64')}, 'auth.json holds the credentials')
  const mode = (await runAsUser(['stat', '-c', '%a', authFile])).stdout.trim()
  t.equal(mode, '600', 'auth.json is private')
  const who = await tspod(t, a, ['login', '--get-login', registry.host], {env})
  expectExit(t, who, 0)
  t.equal(who.stdout, 'alice')

  expectExit(t, await tspod(t, a, ['push', image], {env}), 0)
  const b = storeFor(t, [registry.host])
  const pulled = await tspod(t, b, ['pull', '-q', image], {env})
  expectExit(t, pulled, 0)
  t.match(pulled.stdout.trim(), ID)
  const creds = await tspod(t, b, ['pull', '-q', '--creds', 'alice:s3cret pass', image])
  expectExit(t, creds, 0, /^$/)

  const out = await tspod(t, a, ['logout', registry.host], {env})
  expectExit(t, out, 0)
  t.equal(out.stdout, `Removed login credentials for ${registry.host}`)
  expectExit(t, await tspod(t, a, ['logout', registry.host], {env}), 125, `not logged into ${registry.host}`)
  const c = storeFor(t, [registry.host])
  const after = await tspod(t, c, ['pull', image], {env})
  expectExit(t, after, 125, new RegExp(`Run: tspod login ${registry.host.replaceAll('.', '\\.')}`))
  t.notMatch(after.stderr, 's3cret', 'no credential in errors')
  const all = await tspod(t, a, ['logout', '--all'], {env})
  expectExit(t, all, 0)
  t.equal(all.stdout, 'Removed login credentials for all registries')
})

t.test('TLS with a self-signed CA', async t => {
  const registry = await startRegistry(t, {tls: true})
  const image = `${registry.host}/tls/busybox:1`
  const a = makeStore(t)
  writeRegistriesConf(a, [])
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  const untrusted = await tspod(t, a, ['push', image])
  expectExit(t, untrusted, 125, new RegExp(`TLS with ${registry.host.replaceAll('.', '\\.')} failed.*\\n.*--tls-verify=false`))
  expectExit(t, await tspod(t, a, ['push', '--cert-dir', registry.certDir!, image]), 0)
  expectExit(t, await tspod(t, a, ['push', '--tls-verify=false', image]), 0)
  const b = makeStore(t)
  writeRegistriesConf(b, [])
  const pulled = await tspod(t, b, ['pull', '-q', '--cert-dir', registry.certDir!, image])
  expectExit(t, pulled, 0)
  const extra = await tspod(t, b, ['pull', '-q', image], {env: {NODE_EXTRA_CA_CERTS: registry.caFile!}})
  expectExit(t, extra, 0, /^$/)
})

t.test('bearer token auth: anonymous pull, push with credentials, one token per scope', async t => {
  const user = {username: 'bob', password: 'hunter2'}
  const token = await startTokenServer(t, user)
  const registry = await startRegistry(t, {token})
  const image = `${registry.host}/tokens/busybox:1`
  const a = storeFor(t, [registry.host])
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  const anonymous = await tspod(t, a, ['push', image])
  expectExit(t, anonymous, 125, new RegExp(`Run: tspod login ${registry.host.replaceAll('.', '\\.')}`))
  const pushed = await tspod(t, a, ['push', '--creds', `${user.username}:${user.password}`, image])
  expectExit(t, pushed, 0)
  t.notMatch(pushed.stderr, user.password, 'no credential in the output')
  const withCreds = token.requests.filter(r => r.user === user.username)
  t.ok(withCreds.length >= 1 && withCreds.length <= 2, `the push asked for few tokens (${withCreds.length}), reusing them across blobs`)
  t.ok(withCreds.every(r => r.scope.includes('repository:tokens/busybox:pull,push')), 'scoped to the repository with pull and push')
  const before = token.requests.length
  const b = storeFor(t, [registry.host])
  const pulled = await tspod(t, b, ['pull', '-q', image])
  expectExit(t, pulled, 0)
  t.ok(token.requests.slice(before).every(r => r.user === undefined), 'an anonymous token serves the pull')
  const run = await tspod(t, b, ['run', '--rm', image, 'echo', 'ok'])
  expectExit(t, run, 0)
  const bad = await tspod(t, b, ['pull', '--creds', 'bob:wrong', image])
  expectExit(t, bad, 125, /invalid username\/password/)
})

t.test('a layer over 32 MiB goes up in chunks and comes back intact', async t => {
  const registry = await startRegistry(t)
  const image = `${registry.host}/big/debian:12`
  const a = storeFor(t, [registry.host])
  expectExit(t, await tspod(t, a, ['import', fixture('debian-bookworm-rootfs.tar'), image]), 0)
  expectExit(t, await tspod(t, a, ['push', image]), 0)
  const manifest = await fetch(`${registry.url}/v2/big/debian/manifests/12`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'}}).then(r => r.json()) as {layers: Array<{size: number}>}
  t.ok(manifest.layers[0]!.size > 32 * 1024 * 1024, 'the compressed layer is bigger than the monolithic limit')
  const b = storeFor(t, [registry.host])
  expectExit(t, await tspod(t, b, ['pull', '-q', image]), 0)
  const run = await tspod(t, b, ['run', '--rm', image, 'cat', '/etc/debian_version'])
  expectExit(t, run, 0)
  t.match(run.stdout, /^12\./)
})

t.test('run and create pull a missing image (--pull missing|always|never)', async t => {
  const registry = await startRegistry(t)
  const image = `${registry.host}/test/runpull:1`
  const a = storeFor(t, [registry.host])
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  expectExit(t, await tspod(t, a, ['push', image]), 0)
  const b = storeFor(t, [registry.host])
  expectExit(t, await tspod(t, b, ['run', '--rm', '--pull', 'never', image, 'true']), 125, /image not known/)
  const run = await tspod(t, b, ['run', '--rm', image, 'echo', 'pulled-and-ran'])
  expectExit(t, run, 0)
  t.equal(run.stdout, 'pulled-and-ran', 'the image is pulled, then run; stdout holds only the container\'s output')
  t.match(run.stderr, /Trying to pull .*runpull:1/, 'pull progress goes to stderr')
  const always = await tspod(t, b, ['create', '--pull', 'always', image, 'true'])
  expectExit(t, always, 0)
  t.match(always.stderr, /Trying to pull/, '--pull always pulls even when the image is present')
  await tspod(t, b, ['rm', '-af'])
})
