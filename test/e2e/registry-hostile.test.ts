// Hostile layers through a real registry: images whose layers try to write
// outside the store (.. names, absolute names, symlinks and symlink chains
// pointing out and then written through, hard links to outside files, a
// directory replaced by a symlink) or carry device nodes. Each is uploaded
// with the distribution API's own requests and pulled by `tspod pull` as the
// unprivileged user; a canary directory beside the store, writable by that
// user, must stay as it was, and `tspod system check` must find no damage.
import t, {type Test} from 'tap'
import {createHash} from 'node:crypto'
import {gzipSync} from 'node:zlib'
import {join} from 'node:path'
import {pack, type Headers} from 'tar-stream'
import {expectExit, makeStore, runAsUser, tspod, type Store} from './harness.js'
import {startRegistry, type Registry} from './registry-harness.js'

type Entry = Headers & {body?: string}

const CANARY = 'precious\n'
// Enough .. to climb from any layer directory to /, whatever the store's depth.
const CLIMB = '../'.repeat(32)

function sha256(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex')
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack()
  for (const {body, ...header} of entries) {
    p.entry({mode: header.type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), ...header}, body ?? '')
  }
  p.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of p) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function expectStatus(response: Response, status: number, what: string): Promise<Response> {
  if (response.status !== status) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`)
  return response
}

async function uploadBlob(registry: Registry, repository: string, data: Buffer): Promise<{digest: string; size: number}> {
  const digest = sha256(data)
  const started = await expectStatus(await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, {method: 'POST'}), 202, `starting the upload of ${digest}`)
  const location = new URL(started.headers.get('location') ?? '', registry.url)
  location.searchParams.set('digest', digest)
  await expectStatus(await fetch(location, {method: 'PUT', body: data, headers: {'Content-Type': 'application/octet-stream'}}), 201, `uploading ${digest}`)
  return {digest, size: data.length}
}

/** Uploads an OCI image with one gzip layer per entry list; returns its reference. */
async function pushImage(registry: Registry, repository: string, layerEntries: Entry[][]): Promise<string> {
  const layers = []
  const diffIds = []
  for (const entries of layerEntries) {
    const tar = await tarOf(entries)
    diffIds.push(sha256(tar))
    layers.push({mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await uploadBlob(registry, repository, gzipSync(tar)))})
  }
  const config = Buffer.from(JSON.stringify({
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: {Cmd: ['/bin/sh']},
    rootfs: {type: 'layers', diff_ids: diffIds},
  }))
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...(await uploadBlob(registry, repository, config))},
    layers,
  })
  await expectStatus(await fetch(`${registry.url}/v2/${repository}/manifests/1`, {
    method: 'PUT',
    body: manifest,
    headers: {'Content-Type': 'application/vnd.oci.image.manifest.v1+json'},
  }), 201, `putting the manifest of ${repository}`)
  return `${registry.host}/${repository}:1`
}

interface Canary {
  dir: string
  /** The directory's listing and the canary file's content and link count. */
  state(): Promise<string>
}

/** A directory beside the store, owned by the test user, holding one file. */
async function makeCanary(t: Test, store: Store): Promise<Canary> {
  const dir = join(store.dir, 'outside')
  expectExit(t, await runAsUser(['mkdir', dir]), 0)
  expectExit(t, await runAsUser(['sh', '-c', 'printf %s "$1" >"$2"', 'sh', CANARY, join(dir, 'secret')]), 0)
  const state = async (): Promise<string> => {
    const listed = await runAsUser(['sh', '-c', 'ls -A "$1" && cat "$1/secret" && stat -c %h "$1/secret"', 'sh', dir])
    return listed.stdout
  }
  return {dir, state}
}

interface Setup {
  registry: Registry
  store: Store
  canary: Canary
  before: string
}

async function setUp(t: Test): Promise<Setup> {
  const registry = await startRegistry(t)
  const store = makeStore(t)
  const canary = await makeCanary(t, store)
  return {registry, store, canary, before: await canary.state()}
}

async function expectNoDamage(t: Test, {store, canary, before}: Setup): Promise<void> {
  t.equal(await canary.state(), before, 'nothing outside the store was written, replaced or linked')
  t.equal(before.trim(), `secret\n${CANARY}1`, 'the canary was in place to be hit')
  const check = await tspod(t, store, ['system', 'check'])
  expectExit(t, check, 0)
}

/** Pulls an image that must be refused, with an error naming the entry. */
async function expectRefused(t: Test, setup: Setup, repository: string, layers: Entry[][], error: RegExp): Promise<void> {
  const image = await pushImage(setup.registry, repository, layers)
  const pulled = await tspod(t, setup.store, ['pull', '--tls-verify=false', image])
  expectExit(t, pulled, 125, error)
  t.notMatch(pulled.stderr, /\n\s+at /, 'no stack trace')
  const images = await tspod(t, setup.store, ['images', '-q'])
  expectExit(t, images, 0)
  t.equal(images.stdout, '', 'the refused image is not in the store')
  await expectNoDamage(t, setup)
}

t.test('an entry climbing out with .. is refused', async t => {
  const setup = await setUp(t)
  const name = `${CLIMB}${setup.canary.dir.slice(1)}/dotdot`
  await expectRefused(t, setup, 'hostile/dotdot', [[{name, body: 'escaped'}]],
    /layer entry ".*\/dotdot": path escapes the target directory/)
})

t.test('an absolute entry name lands inside the layer', async t => {
  const setup = await setUp(t)
  const image = await pushImage(setup.registry, 'hostile/absolute', [[
    {name: `${setup.canary.dir}/absolute`, body: 'inside'},
    {name: `${setup.canary.dir}/secret`, body: 'replaced'},
  ]])
  const pulled = await tspod(t, setup.store, ['pull', '-q', '--tls-verify=false', image])
  expectExit(t, pulled, 0)
  await expectNoDamage(t, setup)
})

t.test('an absolute symlink written through is refused', async t => {
  const setup = await setUp(t)
  await expectRefused(t, setup, 'hostile/abssymlink', [[
    {name: 'escape', type: 'symlink', linkname: setup.canary.dir},
    {name: 'escape/written', body: 'escaped'},
  ]], /layer entry "escape\/written": parent "escape" is a symbolic link/)
})

t.test('a chain of symlinks pointing out, written through, is refused', async t => {
  const setup = await setUp(t)
  await expectRefused(t, setup, 'hostile/chain', [[
    {name: 'one', type: 'symlink', linkname: 'two'},
    {name: 'two', type: 'symlink', linkname: `${CLIMB}${setup.canary.dir.slice(1)}`},
    {name: 'one/secret', body: 'overwritten'},
  ]], /layer entry "one\/secret": parent "one" is a symbolic link/)
})

// The overlay driver extracts each layer into a directory of its own, where
// the upper layer's link/ is a plain directory that hides the lower symlink,
// as in Podman; vfs extracts it over a copy of the lower layer and must refuse.
t.test('a symlink from a lower layer is not written through by an upper one', async t => {
  const setup = await setUp(t)
  const image = await pushImage(setup.registry, 'hostile/lower', [
    [{name: 'link', type: 'symlink', linkname: setup.canary.dir}],
    [{name: 'link/secret', body: 'overwritten'}],
  ])
  const pulled = await tspod(t, setup.store, ['pull', '-q', '--tls-verify=false', image])
  if (pulled.code !== 0) expectExit(t, pulled, 125, /layer entry "link\/secret": parent "link" is a symbolic link/)
  await expectNoDamage(t, setup)
})

t.test('a symlink to an outside file is replaced, not written through', async t => {
  const setup = await setUp(t)
  const image = await pushImage(setup.registry, 'hostile/filelink', [
    [{name: 'filelink', type: 'symlink', linkname: join(setup.canary.dir, 'secret')}],
    [{name: 'filelink', body: 'replaces the symlink'}],
  ])
  expectExit(t, await tspod(t, setup.store, ['pull', '-q', '--tls-verify=false', image]), 0)
  await expectNoDamage(t, setup)
})

t.test('hard links to outside files are refused', async t => {
  const setup = await setUp(t)
  await expectRefused(t, setup, 'hostile/hardclimb', [[
    {name: 'stolen', type: 'link', linkname: `${CLIMB}${setup.canary.dir.slice(1)}/secret`},
  ]], /layer entry "stolen": hard link target ".*" escapes the target directory/)
  await expectRefused(t, setup, 'hostile/hardabsolute', [[
    {name: 'stolen', type: 'link', linkname: join(setup.canary.dir, 'secret')},
  ]], /layer entry "stolen": hard link target ".*" does not exist/)
  await expectRefused(t, setup, 'hostile/hardsymlink', [[
    {name: 'out', type: 'symlink', linkname: setup.canary.dir},
    {name: 'stolen', type: 'link', linkname: 'out/secret'},
  ]], /layer entry "stolen": parent "out" is a symbolic link/)
})

t.test('a directory replaced by a symlink is not written through', async t => {
  const setup = await setUp(t)
  await expectRefused(t, setup, 'hostile/dirtosymlink', [[
    {name: 'a/', type: 'directory'},
    {name: 'a/f', body: 'inside'},
    {name: 'a', type: 'symlink', linkname: setup.canary.dir},
    {name: 'a/secret', body: 'overwritten'},
  ]], /layer entry "a\/secret": parent "a" is a symbolic link/)
})

t.test('device nodes are skipped rootless, with a warning', async t => {
  const setup = await setUp(t)
  const image = await pushImage(setup.registry, 'hostile/devices', [[
    {name: 'dev/', type: 'directory'},
    {name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o666},
    {name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1, mode: 0o666},
    {name: 'etc/ok', body: 'ok'},
  ]])
  const pulled = await tspod(t, setup.store, ['pull', '-q', '--tls-verify=false', image])
  expectExit(t, pulled, 0)
  t.match(pulled.stderr, /skipped 2 device node\(s\)/, 'the skipped device nodes are named in a warning')
  await expectNoDamage(t, setup)
})
