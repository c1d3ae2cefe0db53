// Local manifest lists against a real docker-registry, as the unprivileged
// user: two busybox images of different platforms in a list, inspected
// locally, pushed with their images, read back by skopeo and tspod, pulled
// by platform into a fresh store (the list's digest recorded on the image),
// pulled by Podman; remote entries copied by mount and through this host;
// the exit codes and one-line messages of the failures.
import t, {type Test} from 'tap'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expectExit, fixture, makePodman, makeStore, runAsUser, tspod, type Store} from './harness.js'
import {startRegistry, writeRegistriesConf} from './registry-harness.js'

const ID = /^[a-f0-9]{64}$/
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const ARCH: Record<string, string> = {x64: 'amd64', arm64: 'arm64'}
const hostArch = ARCH[process.arch] ?? process.arch
const otherArch = hostArch === 'arm64' ? 'amd64' : 'arm64'

interface Index {
  mediaType: string
  manifests: Array<{mediaType: string; digest: string; size: number; platform?: {architecture: string; os: string; variant?: string}; annotations?: Record<string, string>}>
}

function storeFor(t: Test, registries: string[]): Store {
  const store = makeStore(t)
  writeRegistriesConf(store, registries)
  return store
}

/** busybox twice: once for this host, once (same layer, another config) for the other architecture. */
async function importPair(t: Test, store: Store): Promise<{host: string; other: string}> {
  const host = await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'localhost/bb:host'])
  expectExit(t, host, 0)
  const other = await tspod(t, store, ['import', '--arch', otherArch, '--change', 'CMD ["/bin/sh"]', fixture('busybox-rootfs.tar'), 'localhost/bb:other'])
  expectExit(t, other, 0)
  return {host: host.stdout.trim().replace(/^sha256:/, ''), other: other.stdout.trim().replace(/^sha256:/, '')}
}

async function digestOf(t: Test, store: Store, image: string): Promise<string> {
  const res = await tspod(t, store, ['image', 'inspect', '--format', '{{.Digest}}', image])
  expectExit(t, res, 0)
  return res.stdout.trim()
}

async function skopeoRaw(t: Test, reference: string): Promise<string> {
  const res = await runAsUser(['skopeo', 'inspect', '--tls-verify=false', '--raw', `docker://${reference}`])
  expectExit(t, res, 0)
  return res.stdout
}

const sha256 = (text: string): string => 'sha256:' + createHash('sha256').update(text).digest('hex')

t.test('create, add, inspect, push --all, pull back by platform; Podman pulls it', async t => {
  const registry = await startRegistry(t)
  const a = storeFor(t, [registry.host])
  const ids = await importPair(t, a)
  const hostDigest = await digestOf(t, a, 'localhost/bb:host')
  const otherDigest = await digestOf(t, a, 'localhost/bb:other')

  const created = await tspod(t, a, ['manifest', 'create', 'localhost/ml:1'])
  expectExit(t, created, 0)
  const listId = created.stdout.trim()
  t.match(listId, ID, 'create prints the list ID')
  const added = await tspod(t, a, ['manifest', 'add', 'localhost/ml:1', 'localhost/bb:host'])
  expectExit(t, added, 0)
  t.equal(added.stdout.trim(), listId, 'add prints the list ID, which stays the same')
  expectExit(t, await tspod(t, a, ['manifest', 'add', '--annotation', 'org.example.role=other', '--variant', 'v8', 'localhost/ml:1', 'containers-storage:localhost/bb:other']), 0)

  const inspected = await tspod(t, a, ['manifest', 'inspect', 'localhost/ml:1'])
  expectExit(t, inspected, 0)
  t.match(inspected.stdout, /^\{\n {4}"schemaVersion": 2,\n {4}"mediaType": /, 'indented with four spaces, as Podman prints it')
  const local = JSON.parse(inspected.stdout) as Index
  t.equal(local.mediaType, OCI_INDEX, 'OCI manifests make an OCI index')
  t.same(local.manifests.map(m => [m.digest, m.platform]), [
    [hostDigest, {architecture: hostArch, os: 'linux'}],
    [otherDigest, {architecture: otherArch, os: 'linux', variant: 'v8'}],
  ])
  t.same(local.manifests[1]!.annotations, {'org.example.role': 'other'})

  const images = await tspod(t, a, ['images', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])
  expectExit(t, images, 0)
  t.match(images.stdout, `${listId.slice(0, 12)} localhost/ml:1`, 'images lists the list')
  const resolved = await tspod(t, a, ['image', 'inspect', '--format', '{{.Id}}', 'localhost/ml:1'])
  expectExit(t, resolved, 0)
  t.equal(resolved.stdout.trim(), ids.host, "inspect of the list shows this host's image, as Podman does")
  const ran = await tspod(t, a, ['run', '--rm', 'localhost/ml:1', 'echo', 'ok'])
  expectExit(t, ran, 0)
  t.equal(ran.stdout.trim(), 'ok', "run of the list runs this host's image")
  expectExit(t, await tspod(t, a, ['manifest', 'exists', 'localhost/ml:1']), 0)
  expectExit(t, await tspod(t, a, ['manifest', 'exists', 'localhost/bb:host']), 1)
  expectExit(t, await tspod(t, a, ['manifest', 'exists', 'localhost/nothing']), 1)

  const digestFile = join(a.dir, 'list-digest')
  const target = `${registry.host}/test/ml:1`
  const pushed = await tspod(t, a, ['manifest', 'push', '--all', '--digestfile', digestFile, 'localhost/ml:1', `docker://${target}`])
  expectExit(t, pushed, 0)
  t.equal(pushed.stdout, '', 'push prints nothing on stdout, as Podman 4')
  t.match(pushed.stderr, /^Getting image list signatures\nCopying 2 of 2 images in list\nCopying image sha256:[a-f0-9]{64} \(1\/2\)\n/)
  t.match(pushed.stderr, /Writing manifest list to image destination\nStoring list signatures$/)

  const raw = await skopeoRaw(t, target)
  const listDigest = readFileSync(digestFile, 'utf8')
  t.equal(sha256(raw), listDigest, '--digestfile holds the digest of the index the registry serves')
  const remote = JSON.parse(raw) as Index
  t.equal(remote.mediaType, OCI_INDEX)
  t.same(remote.manifests.map(m => m.platform?.architecture), [hostArch, otherArch])
  t.same(remote.manifests[1]!.annotations, {'org.example.role': 'other'}, 'annotations travel')
  const viaTspod = await tspod(t, a, ['manifest', 'inspect', target])
  expectExit(t, viaTspod, 0)
  t.same(JSON.parse(viaTspod.stdout), remote, 'tspod manifest inspect of the pushed list')
  for (const m of remote.manifests) {
    const instance = JSON.parse(await skopeoRaw(t, `${registry.host}/test/ml@${m.digest}`)) as {layers: Array<{mediaType: string}>}
    t.equal(instance.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip', 'each image went up compressed, by digest')
  }

  const b = storeFor(t, [registry.host])
  const pulledOther = await tspod(t, b, ['pull', '-q', '--platform', `linux/${otherArch}`, target])
  expectExit(t, pulledOther, 0)
  t.equal(pulledOther.stdout.trim(), ids.other, '--platform picks the other image')
  const otherInfo = await tspod(t, b, ['image', 'inspect', '--format', '{{.Architecture}} {{.Digest}} {{json .RepoDigests}}', target])
  expectExit(t, otherInfo, 0)
  const [arch, digest, repoDigests] = otherInfo.stdout.trim().split(' ')
  t.equal(arch, otherArch)
  t.equal(digest, remote.manifests[1]!.digest)
  t.same(JSON.parse(repoDigests!), [`${registry.host}/test/ml@${remote.manifests[1]!.digest}`, `${registry.host}/test/ml@${listDigest}`], 'RepoDigests hold the image and the list')
  const pulledHost = await tspod(t, b, ['pull', '-q', target])
  expectExit(t, pulledHost, 0)
  t.equal(pulledHost.stdout.trim(), ids.host, "by default this host's image")
  const hostInfo = await tspod(t, b, ['image', 'inspect', '--format', '{{json .RepoDigests}}', target])
  t.same(JSON.parse(hostInfo.stdout), [`${registry.host}/test/ml@${remote.manifests[0]!.digest}`, `${registry.host}/test/ml@${listDigest}`])
  const digests = await tspod(t, b, ['images', '--digests', '--format', '{{.ID}} {{.Digest}}'])
  t.match(digests.stdout, `${ids.host.slice(0, 12)} ${remote.manifests[0]!.digest}`, 'images --digests')
  const byListDigest = await tspod(t, b, ['image', 'exists', `${registry.host}/test/ml@${listDigest}`])
  expectExit(t, byListDigest, 0)

  const podman = await makePodman(t)
  const podmanPull = await podman.run(['pull', '-q', '--tls-verify=false', target])
  expectExit(t, podmanPull, 0)
  t.equal(podmanPull.stdout.trim(), ids.host, "Podman pulls the list and gets this host's image")
  const podmanInfo = await podman.run(['image', 'inspect', '--format', '{{json .RepoDigests}}', target])
  t.match(podmanInfo.stdout, listDigest, "Podman records the list's digest")

  const removed = await tspod(t, a, ['manifest', 'rm', 'localhost/ml:1'])
  expectExit(t, removed, 0)
  t.equal(removed.stdout, `Untagged: localhost/ml:1\nDeleted: ${listId}`)
  expectExit(t, await tspod(t, a, ['manifest', 'exists', 'localhost/ml:1']), 1)
  const left = await tspod(t, a, ['images', '--format', '{{.Repository}}:{{.Tag}}'])
  t.same(left.stdout.split('\n').sort(), ['localhost/bb:host', 'localhost/bb:other'], "the list's images stay")
  const check = await tspod(t, a, ['system', 'check'])
  expectExit(t, check, 0)
})

t.test('remote entries: mounted within a registry, copied through to another', async t => {
  const first = await startRegistry(t)
  const second = await startRegistry(t)
  const a = storeFor(t, [first.host, second.host])
  await importPair(t, a)
  expectExit(t, await tspod(t, a, ['manifest', 'create', 'localhost/src', 'localhost/bb:host', 'localhost/bb:other']), 0)
  expectExit(t, await tspod(t, a, ['manifest', 'push', '-q', 'localhost/src', `${first.host}/test/src:1`]), 0)
  const source = JSON.parse(await skopeoRaw(t, `${first.host}/test/src:1`)) as Index

  const one = await tspod(t, a, ['manifest', 'create', 'localhost/one', `docker://${first.host}/test/src:1`])
  expectExit(t, one, 0)
  const oneIndex = JSON.parse((await tspod(t, a, ['manifest', 'inspect', 'localhost/one'])).stdout) as Index
  t.same(oneIndex.manifests.map(m => m.digest), [source.manifests[0]!.digest], "a remote list gives its entry for this host")
  expectExit(t, await tspod(t, a, ['manifest', 'create', '--all', 'localhost/remote', `docker://${first.host}/test/src:1`]), 0)
  const run = await tspod(t, a, ['run', '--rm', 'localhost/remote', 'true'])
  expectExit(t, run, 125, /^Error: localhost\/remote: the manifest list's image for linux\/[a-z0-9]+ \(sha256:[a-f0-9]{64}\) is not in local storage: image not known\n/)

  const mounted = await tspod(t, a, ['manifest', 'push', 'localhost/remote', `${first.host}/test/copy:1`])
  expectExit(t, mounted, 0)
  t.match(mounted.stderr, /Copying blob sha256:[a-f0-9]{64} skipped: mounted from another repository/, 'blobs are mounted from the source repository')
  t.same((JSON.parse(await skopeoRaw(t, `${first.host}/test/copy:1`)) as Index).manifests, source.manifests, 'the entries arrive unchanged')

  const copied = await tspod(t, a, ['manifest', 'push', 'localhost/remote', `${second.host}/test/copy:1`])
  expectExit(t, copied, 0)
  t.same((JSON.parse(await skopeoRaw(t, `${second.host}/test/copy:1`)) as Index).manifests, source.manifests, 'copied through to another registry')
  const b = storeFor(t, [second.host])
  const pulled = await tspod(t, b, ['run', '--rm', `${second.host}/test/copy:1`, 'echo', 'ok'])
  expectExit(t, pulled, 0)
  t.match(pulled.stdout, /ok$/, 'the copy pulls and runs')

  const listOnly = await tspod(t, a, ['manifest', 'push', '--all=false', 'localhost/remote', `${second.host}/test/copy:2`])
  expectExit(t, listOnly, 0, /^Writing manifest list to image destination\nStoring list signatures$/)
  const noImages = await tspod(t, a, ['manifest', 'push', '--all=false', 'localhost/remote', `${second.host}/test/empty:1`])
  expectExit(t, noImages, 125, /\nError: [^\n]*manifest blob unknown[^\n]*\nThe repository must hold the list's images first: push with --all$/)
})

t.test('errors: exit codes and one-line messages', async t => {
  const registry = await startRegistry(t)
  const a = storeFor(t, [registry.host])
  await importPair(t, a)
  expectExit(t, await tspod(t, a, ['manifest', 'create', 'localhost/ml']), 0)

  const toImage = await tspod(t, a, ['manifest', 'add', 'localhost/bb:host', 'localhost/bb:other'])
  expectExit(t, toImage, 125)
  t.equal(toImage.stderr.split('\n')[0], 'Error: localhost/bb:host: image is not a manifest list')
  const missing = await tspod(t, a, ['manifest', 'push', 'localhost/nope', `${registry.host}/test/nope:1`])
  expectExit(t, missing, 125)
  t.equal(missing.stderr.split('\n')[0], 'Error: localhost/nope: image not known')
  const taken = await tspod(t, a, ['manifest', 'create', 'localhost/bb:host'])
  expectExit(t, taken, 125, /^Error: creating image to hold manifest list: image name "localhost\/bb:host" is already associated with image "[a-f0-9]{64}": that name is already in use\n/)
  expectExit(t, await tspod(t, a, ['manifest', 'create', 'localhost/ml']), 125, /that name is already in use\nUse --amend/)
  expectExit(t, await tspod(t, a, ['manifest', 'create', '--amend', 'localhost/ml', 'localhost/bb:host']), 0)
  const annotate = await tspod(t, a, ['manifest', 'annotate', '--arch', 'x', 'localhost/ml', `sha256:${'0'.repeat(64)}`])
  expectExit(t, annotate, 125, /^Error: sha256:0{64}: no image in manifest list localhost\/ml has this digest\n/)
  expectExit(t, await tspod(t, a, ['manifest', 'annotate', '--annotation', 'novalue', 'localhost/ml', 'localhost/bb:host']), 125, /^Error: no value given for annotation "novalue"\n/)
  expectExit(t, await tspod(t, a, ['manifest', 'add', 'localhost/ml', 'oci-archive:/tmp/x.tar']), 125, /only images in a registry \(docker:\/\/\) or in local storage \(containers-storage:\) can be added/)
  expectExit(t, await tspod(t, a, ['manifest', 'rm', 'localhost/nope']), 1, /^Error: localhost\/nope: image not known$/)
  expectExit(t, await tspod(t, a, ['manifest', 'rm', 'localhost/bb:host']), 125, /^Error: localhost\/bb:host: image is not a manifest list$/)
  const other = await tspod(t, a, ['manifest', 'create', 'localhost/otheronly', 'localhost/bb:other'])
  expectExit(t, other, 0)
  expectExit(t, await tspod(t, a, ['image', 'inspect', 'localhost/otheronly']), 125, `Error: localhost/otheronly: the manifest list has no image for linux/${hostArch}: image not known`)
  const rmi = await tspod(t, a, ['rmi', 'localhost/otheronly'])
  expectExit(t, rmi, 0)
  t.equal(rmi.stdout, `Untagged: localhost/otheronly:latest\nDeleted: ${other.stdout.trim()}`, 'rmi removes a list')
})
