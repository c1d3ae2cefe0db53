// `tspod build` against `podman build` on the corpus in
// test/fixtures/build-corpus: every case is built by both tools and the two
// images compared on what a Dockerfile decides, namely the image config, the
// history (created_by, empty_layer) and the flattened file tree (paths,
// types, modes, owners, contents).
//
// Podman's side is slow (vfs, a few seconds a step), so its result, the
// "reference", is cached as JSON in $TSPOD_FIXTURES/build-corpus (default
// /var/cache/tspod-fixtures), keyed by a hash of the case directory, the
// Podman version, the base fixtures and REFERENCE_FORMAT; Podman runs only
// for cases whose reference is missing. The base images come from Podman
// too (imported there, saved, loaded into tspod), so both tools build on
// byte-identical bases.
//
// A case is a directory NN-name with a Dockerfile, its context files, an
// optional .dockerignore and, only when needed, expect.json:
//   buildArgs      {NAME: value}: --build-arg for both tools
//   target         --target for both tools
//   secrets        {id: content}: written to a file, passed as --secret id=ID,src=FILE
//   podman: false  buildah 1.28 (Podman 4.3) cannot build it; tspod is
//                  checked against `expected` alone
//   why            why podman is false, or why podmanDiffers exists
//   expected       {config?, history?, files?}: only what is given is checked;
//                  a file given as null must be absent, and only the fields
//                  given of a file entry are compared
//   podmanDiffers  {config?, files?}: where buildah 1.28 departs from the
//                  Dockerfile reference, the value tspod must produce instead
//                  of Podman's
//
// Set TSPOD_BUILD_CASES=07,16 to run only those cases (by number prefix), and
// TSPOD_BUILD_REPORT=FILE to get every case's differences as JSON in FILE.
import {createHash} from 'node:crypto'
import {appendFileSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import t, {type Test} from 'tap'
import {extract} from 'tar-stream'
import {expectExit, makePodman, makeStore, repoRoot, requireUser, runAsUser, tspod, type Podman, type Store} from './harness.js'

// Bump when the shape of a reference or what goes into it changes.
const REFERENCE_FORMAT = 1
const BUILD_TIMEOUT_MS = 300_000
const corpusDir = join(repoRoot, 'test', 'fixtures', 'build-corpus')
const fixturesDir = process.env.TSPOD_FIXTURES || '/var/cache/tspod-fixtures'
const cacheDir = join(fixturesDir, 'build-corpus')
// Both tools build with the same flags: docker format, because the OCI image
// config has no Healthcheck, OnBuild or Shell and buildah drops them there;
// no network, because no case needs one and Podman's default (slirp4netns)
// depends on /dev/net/tun being usable.
const COMMON_BUILD_FLAGS = ['--format', 'docker', '--network', 'none']
const BASES = [
  {name: 'localhost/busybox', fixture: 'busybox-rootfs.tar'},
  {name: 'localhost/debian', fixture: 'debian-bookworm-rootfs.tar'},
]

t.setTimeout(90 * 60_000)

interface FileEntry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block'
  mode: string
  uid: number
  gid: number
  size?: number
  sha256?: string
  text?: string
  link?: string
}

interface HistoryEntry {
  created_by: string
  empty_layer: boolean
}

interface Reference {
  config: Record<string, unknown>
  history: HistoryEntry[]
  files: Record<string, FileEntry>
}

interface CaseSpec {
  buildArgs?: Record<string, string>
  target?: string
  secrets?: Record<string, string>
  podman?: boolean
  why?: string
  expected?: {config?: Record<string, unknown>; history?: HistoryEntry[]; files?: Record<string, Partial<FileEntry> | null>}
  podmanDiffers?: {config?: Record<string, unknown>; files?: Record<string, FileEntry | null>}
}

interface Case {
  name: string
  dir: string
  spec: CaseSpec
}

const COMPARED_CONFIG_KEYS = [
  'Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes',
  'Labels', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell',
]

// ---------------------------------------------------------------------------
// Normalisation: every known, justified difference between the two tools'
// images is removed here and nowhere else.
//  - Labels: io.buildah.version is buildah's signature, not the Dockerfile's.
//  - Config values null, "", [] and {} mean "not set"; buildah writes empty
//    OnBuild and Volumes for every image, others omit them.
//  - History: only created_by and empty_layer are compared (created is a
//    timestamp, comment holds buildah's intermediate image IDs); the content
//    digest in `COPY file:<hex> in /dst` depends on how each tool hashes the
//    sources (buildah includes mtimes), so the hex becomes <digest>.
//  - Files: mtimes are not compared; a hard link is compared as the file it
//    links to, since which copy is the tar's link depends on layering.
//  - Buildah's RUN leaves the mount points it made for a step's container in
//    the layer: an empty /etc/hostname (/etc/hosts, /etc/resolv.conf with a
//    network), /run and /run/secrets. Where tspod's image lacks one of these
//    and Podman's is an empty file or a directory with nothing beneath it,
//    it is not compared.
// ---------------------------------------------------------------------------
const IGNORED_LABELS = ['io.buildah.version']
const RUN_MOUNT_POINTS = ['/run/secrets', '/run', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf']

function dropRunMountPoints(theirs: Record<string, FileEntry>, ours: Record<string, FileEntry>): Record<string, FileEntry> {
  const files = {...theirs}
  for (const path of RUN_MOUNT_POINTS) {
    const entry = files[path]
    if (!entry || ours[path]) continue
    const empty = entry.type === 'file' ? entry.size === 0 : entry.type === 'dir' && !Object.keys(files).some(key => key.startsWith(path + '/'))
    if (empty) delete files[path]
  }
  return files
}

function isUnset(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true
  if (Array.isArray(value)) return value.length === 0
  if (typeof value === 'object') return Object.keys(value).length === 0
  return false
}

function normaliseConfig(raw: Record<string, unknown> | undefined): Record<string, unknown> {
  const config: Record<string, unknown> = {}
  for (const key of COMPARED_CONFIG_KEYS) {
    let value = raw?.[key]
    if (key === 'Labels' && value && typeof value === 'object') {
      const labels = {...(value as Record<string, string>)}
      for (const label of IGNORED_LABELS) delete labels[label]
      value = labels
    }
    if (!isUnset(value)) config[key] = value
  }
  return config
}

function normaliseHistory(raw: Array<Record<string, unknown>> | undefined): HistoryEntry[] {
  return (raw ?? []).map(entry => ({
    created_by: String(entry.created_by ?? '').replace(/\b(file|dir|multi):[0-9a-f]{64}\b/g, '$1:<digest>'),
    empty_layer: entry.empty_layer === true,
  }))
}

// ---------------------------------------------------------------------------
// Reading a docker-archive: the config, and the layers applied in order
// (whiteouts included) into one file tree.
// ---------------------------------------------------------------------------
async function readTarEntries(data: Buffer, onEntry: (header: import('tar-stream').Headers, body: Buffer) => void): Promise<void> {
  const unpack = extract()
  const done = new Promise<void>((resolve, reject) => {
    unpack.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        onEntry(header, Buffer.concat(chunks))
        next()
      })
      stream.on('error', reject)
    })
    unpack.on('finish', resolve)
    unpack.on('error', reject)
  })
  unpack.end(data)
  await done
}

function cleanPath(name: string): string {
  const parts = name.split('/').filter(part => part !== '' && part !== '.')
  return '/' + parts.join('/')
}

function isPrintable(body: Buffer): boolean {
  if (body.length > 256) return false
  const text = body.toString('utf8')
  return Buffer.from(text, 'utf8').equals(body) && !/[\0-\x08\x0e-\x1f\x7f]/.test(text)
}

function describeBody(body: Buffer): Pick<FileEntry, 'size' | 'sha256' | 'text'> {
  if (isPrintable(body)) return {size: body.length, text: body.toString('utf8')}
  return {size: body.length, sha256: createHash('sha256').update(body).digest('hex')}
}

// Removes path and everything beneath it; with childrenOnly, keeps path itself
// and whatever the current layer (keep) has already put beneath it.
function removeTree(files: Map<string, FileEntry>, path: string, childrenOnly = false, keep?: Set<string>): void {
  const prefix = path === '/' ? '/' : path + '/'
  for (const key of [...files.keys()]) {
    if (keep?.has(key)) continue
    if ((key === path && !childrenOnly) || (key !== path && key.startsWith(prefix))) files.delete(key)
  }
}

const TYPES: Record<string, FileEntry['type'] | undefined> = {
  file: 'file', 'contiguous-file': 'file', directory: 'dir', symlink: 'symlink', fifo: 'fifo',
  'character-device': 'char', 'block-device': 'block',
}

async function applyLayer(files: Map<string, FileEntry>, layer: Buffer): Promise<void> {
  const data = layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer
  const added = new Set<string>()
  await readTarEntries(data, (header, body) => {
    const path = cleanPath(header.name)
    const base = path.slice(path.lastIndexOf('/') + 1)
    const parent = path.slice(0, path.lastIndexOf('/')) || '/'
    if (base === '.wh..wh..opq') {
      removeTree(files, parent, true, added)
      return
    }
    if (base.startsWith('.wh.')) {
      removeTree(files, join(parent, base.slice(4)))
      return
    }
    const owner = {mode: ((header.mode ?? 0) & 0o7777).toString(8).padStart(4, '0'), uid: header.uid ?? 0, gid: header.gid ?? 0}
    let entry: FileEntry
    if (header.type === 'link') {
      const target = files.get(cleanPath(header.linkname ?? ''))
      entry = target ? {...target} : {type: 'file', ...owner, text: `<hard link to missing ${header.linkname}>`}
    } else {
      const type = TYPES[header.type ?? 'file']
      if (!type) return
      entry = {type, ...owner}
      if (type === 'file') Object.assign(entry, describeBody(body))
      if (type === 'symlink') entry.link = header.linkname ?? ''
    }
    const previous = files.get(path)
    if (previous && !(previous.type === 'dir' && entry.type === 'dir')) removeTree(files, path)
    files.set(path, entry)
    added.add(path)
  })
  files.delete('/')
}

async function readArchive(archive: Buffer): Promise<Reference> {
  const members = new Map<string, Buffer>()
  await readTarEntries(archive, (header, body) => {
    if (header.type === 'file') members.set(cleanPath(header.name).slice(1), body)
  })
  const manifestText = members.get('manifest.json')
  if (!manifestText) throw new Error('the archive has no manifest.json')
  const [manifest] = JSON.parse(manifestText.toString('utf8')) as Array<{Config: string; Layers: string[]}>
  const config = JSON.parse(members.get(cleanPath(manifest!.Config).slice(1))!.toString('utf8')) as {
    config?: Record<string, unknown>
    history?: Array<Record<string, unknown>>
  }
  const files = new Map<string, FileEntry>()
  for (const layer of manifest!.Layers) {
    const body = members.get(cleanPath(layer).slice(1))
    if (!body) throw new Error(`the archive has no layer ${layer}`)
    await applyLayer(files, body)
  }
  return {
    config: normaliseConfig(config.config),
    history: normaliseHistory(config.history),
    files: Object.fromEntries([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
  }
}

// ---------------------------------------------------------------------------
// Comparing: a list of readable differences, empty when equal.
// ---------------------------------------------------------------------------
// JSON with object keys sorted: the order of labels, ports or volumes means nothing.
function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

function compareConfig(expected: Record<string, unknown>, actual: Record<string, unknown>, keys: string[]): string[] {
  return keys
    .filter(key => show(expected[key]) !== show(actual[key]))
    .map(key => `config.${key}: expected ${show(expected[key])}, got ${show(actual[key])}`)
}

function compareHistory(expected: HistoryEntry[], actual: HistoryEntry[]): string[] {
  const differences: string[] = []
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (show(expected[i]) !== show(actual[i])) differences.push(`history[${i}]: expected ${show(expected[i])}, got ${show(actual[i])}`)
  }
  return differences
}

function compareFiles(expected: Record<string, Partial<FileEntry> | null>, actual: Record<string, FileEntry>, exhaustive: boolean): string[] {
  const differences: string[] = []
  for (const [path, want] of Object.entries(expected)) {
    const got = actual[path]
    if (want === null) {
      if (got) differences.push(`${path}: expected absent, got ${show(got)}`)
      continue
    }
    if (!got) {
      differences.push(`${path}: missing, expected ${show(want)}`)
      continue
    }
    const fields = exhaustive ? new Set([...Object.keys(want), ...Object.keys(got)]) : new Set(Object.keys(want))
    const wrong = [...fields].filter(field => show(want[field as keyof FileEntry]) !== show(got[field as keyof FileEntry]))
    if (wrong.length) differences.push(`${path}: ${wrong.map(f => `${f} expected ${show(want[f as keyof FileEntry])}, got ${show(got[f as keyof FileEntry])}`).join('; ')}`)
  }
  if (exhaustive) {
    for (const [path, got] of Object.entries(actual)) {
      if (!(path in expected)) differences.push(`${path}: unexpected ${show(got)}`)
    }
  }
  return differences
}

function applyPodmanDiffers(reference: Reference, spec: CaseSpec): Reference {
  const differs = spec.podmanDiffers
  if (!differs) return reference
  const files: Record<string, FileEntry> = {...reference.files}
  for (const [path, entry] of Object.entries(differs.files ?? {})) {
    if (entry === null) delete files[path]
    else files[path] = entry
  }
  return {config: {...reference.config, ...differs.config}, history: reference.history, files}
}

// ---------------------------------------------------------------------------
// Cases and the cache of Podman's references.
// ---------------------------------------------------------------------------
function loadCases(): Case[] {
  const only = process.env.TSPOD_BUILD_CASES?.split(',').map(s => s.trim()).filter(Boolean)
  return readdirSync(corpusDir)
    .filter(name => /^\d\d-/.test(name))
    .filter(name => !only || only.some(prefix => name.startsWith(prefix)))
    .sort()
    .map(name => {
      const dir = join(corpusDir, name)
      const specFile = join(dir, 'expect.json')
      const spec = existsSync(specFile) ? (JSON.parse(readFileSync(specFile, 'utf8')) as CaseSpec) : {}
      return {name, dir, spec}
    })
}

// Names, types, modes and contents of everything Podman sees of a case: the
// directory less expect.json, whose expectations do not change its build.
function hashDirectory(hash: ReturnType<typeof createHash>, dir: string, prefix = ''): void {
  for (const name of readdirSync(dir).sort()) {
    if (prefix === '' && name === 'expect.json') continue
    const path = join(dir, name)
    const stats = lstatSync(path)
    hash.update(`${prefix}${name}\0${stats.mode}\0`)
    if (stats.isSymbolicLink()) hash.update(readlinkSync(path))
    else if (stats.isDirectory()) hashDirectory(hash, path, `${prefix}${name}/`)
    else hash.update(readFileSync(path))
    hash.update('\0')
  }
}

function fixtureIdentity(): string {
  return BASES.map(base => {
    const stats = statSync(join(fixturesDir, base.fixture))
    return `${base.fixture}:${stats.size}:${stats.mtimeMs}`
  }).join(',')
}

function cacheKey(parts: string[], dir?: string): string {
  const hash = createHash('sha256').update(parts.join('\n'))
  if (dir) hashDirectory(hash, dir)
  return hash.digest('hex').slice(0, 16)
}

function readCached(path: string): Reference | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Reference
  } catch {
    return undefined
  }
}

// The cache is a convenience: a run that may not write it still compares.
// Earlier versions of the same entry (same name before the key) go.
function writeCached(path: string, data: string | Buffer): void {
  const name = basename(path)
  const stem = name.slice(0, name.lastIndexOf('-') + 1)
  try {
    mkdirSync(cacheDir, {recursive: true})
    const temp = `${path}.${process.pid}.tmp`
    writeFileSync(temp, data)
    renameSync(temp, path)
    for (const old of readdirSync(cacheDir)) {
      if (old !== name && old.startsWith(stem) && /^[0-9a-f]{16}\.(json|tar)$/.test(old.slice(stem.length))) rmSync(join(cacheDir, old), {force: true})
    }
  } catch {
    // Read-only fixture cache: the next run builds with Podman again.
  }
}

// What of expect.json reaches Podman's build.
function buildInputs(spec: CaseSpec): string {
  return JSON.stringify({buildArgs: spec.buildArgs, target: spec.target, secrets: spec.secrets})
}

function buildFlags(spec: CaseSpec, secretDir: string): string[] {
  const flags = [...COMMON_BUILD_FLAGS]
  for (const [name, value] of Object.entries(spec.buildArgs ?? {})) flags.push('--build-arg', `${name}=${value}`)
  if (spec.target) flags.push('--target', spec.target)
  for (const id of Object.keys(spec.secrets ?? {})) flags.push('--secret', `id=${id},src=${join(secretDir, id)}`)
  return flags
}

function writeSecrets(cases: Case[], dir: string): void {
  const user = requireUser()
  mkdirSync(dir, {recursive: true})
  if (user.switched) chownSync(dir, user.uid, user.gid)
  for (const c of cases) {
    for (const [id, content] of Object.entries(c.spec.secrets ?? {})) {
      const file = join(dir, id)
      writeFileSync(file, content, {mode: 0o600})
      if (user.switched) chownSync(file, user.uid, user.gid)
    }
  }
}

function tail(text: string): string {
  return text.length > 4000 ? `…${text.slice(-4000)}` : text
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? ''
}

const cases = loadCases()
const podmanCases = cases.filter(c => c.spec.podman !== false)

t.test('build corpus: podman build against tspod build', async t => {
  const store: Store = makeStore(t)
  const secretDir = join(store.dir, 'secrets')
  writeSecrets(cases, secretDir)
  const version = (await runAsUser(['podman', '--version'])).stdout.trim()
  t.ok(version, 'podman --version answers')
  const identity = fixtureIdentity()

  // Podman's side: base archives and references, from the cache or built now.
  const baseArchives = new Map<string, string>()
  const references = new Map<string, Reference>()
  const referencePaths = new Map<string, string>()
  for (const c of podmanCases) {
    const key = cacheKey([String(REFERENCE_FORMAT), version, identity, JSON.stringify(COMMON_BUILD_FLAGS), buildInputs(c.spec)], c.dir)
    const path = join(cacheDir, `${c.name}-${key}.json`)
    referencePaths.set(c.name, path)
    const cached = readCached(path)
    if (cached) references.set(c.name, cached)
  }
  for (const base of BASES) {
    baseArchives.set(base.name, join(cacheDir, `base-${base.fixture.replace(/\.tar$/, '')}-${cacheKey([version, identity])}.tar`))
  }
  const missingBases = BASES.filter(base => !existsSync(baseArchives.get(base.name)!))
  const missingCases = podmanCases.filter(c => !references.has(c.name))
  t.comment(`podman references: ${references.size} cached, ${missingCases.length} to build`)

  if (missingBases.length || missingCases.length) {
    const podman: Podman = await makePodman(t)
    for (const base of BASES) {
      const imported = await podman.run(['import', join(fixturesDir, base.fixture), base.name], {timeoutMs: BUILD_TIMEOUT_MS})
      if (!expectExit(t, imported, 0)) return
      const archive = join(store.dir, `base-${base.fixture}`)
      if (!expectExit(t, await podman.run(['save', '-o', archive, base.name], {timeoutMs: BUILD_TIMEOUT_MS}), 0)) return
      writeCached(baseArchives.get(base.name)!, readFileSync(archive))
      if (!existsSync(baseArchives.get(base.name)!)) baseArchives.set(base.name, archive)
    }
    for (const c of missingCases) {
      const tag = `localhost/corpus-${c.name}`
      const built = await podman.run(['build', ...buildFlags(c.spec, secretDir), '-t', tag, c.dir], {timeoutMs: BUILD_TIMEOUT_MS})
      if (built.code !== 0) {
        t.fail(`${c.name}: podman build failed`, {command: built.command, stderr: tail(built.stderr)})
        continue
      }
      const archive = join(store.dir, `podman-${c.name}.tar`)
      const saved = await podman.run(['save', '-o', archive, tag], {timeoutMs: BUILD_TIMEOUT_MS})
      if (!expectExit(t, saved, 0)) continue
      const reference = await readArchive(readFileSync(archive))
      references.set(c.name, reference)
      writeCached(referencePaths.get(c.name)!, JSON.stringify(reference))
      await podman.run(['rmi', '-f', tag])
      await runAsUser(['rm', '-f', archive])
    }
  }

  // tspod's side: the same bases, then every case.
  for (const base of BASES) {
    const loaded = await tspod(t, store, ['load', '-i', baseArchives.get(base.name)!], {timeoutMs: BUILD_TIMEOUT_MS})
    if (!expectExit(t, loaded, 0)) return
  }
  const help = await tspod(t, store, ['build', '--help'])
  if (help.code !== 0) {
    t.fail(`tspod build is not available, only the Podman references were made: ${lastLine(help.stderr)}`, {command: help.command, stderr: tail(help.stderr)})
    return
  }

  const summary = {equal: [] as string[], different: [] as string[]}
  for (const c of cases) {
    await t.test(c.name, async t => {
      const tag = `localhost/corpus-${c.name}`
      const built = await tspod(t, store, ['build', ...buildFlags(c.spec, secretDir), '-t', tag, c.dir], {timeoutMs: BUILD_TIMEOUT_MS})
      if (built.code !== 0) {
        summary.different.push(c.name)
        if (process.env.TSPOD_BUILD_REPORT) appendFileSync(process.env.TSPOD_BUILD_REPORT, JSON.stringify({case: c.name, differences: [`tspod build failed: ${lastLine(built.stderr)}`]}) + '\n')
        t.fail(`tspod build of ${c.name} failed: ${lastLine(built.stderr)}`, {command: built.command, stderr: tail(built.stderr)})
        return
      }
      const archive = join(store.dir, `tspod-${c.name}.tar`)
      if (!expectExit(t, await tspod(t, store, ['save', '--format', 'docker-archive', '-o', archive, tag], {timeoutMs: BUILD_TIMEOUT_MS}), 0)) return
      const ours = await readArchive(readFileSync(archive))
      await runAsUser(['rm', '-f', archive])
      await tspod(t, store, ['rmi', '-f', tag])
      let differences: string[]
      if (c.spec.podman === false) {
        const expected = c.spec.expected ?? {}
        differences = [
          ...compareConfig(expected.config ?? {}, ours.config, Object.keys(expected.config ?? {})),
          ...(expected.history ? compareHistory(expected.history, ours.history) : []),
          ...compareFiles(expected.files ?? {}, ours.files, false),
        ]
      } else {
        const reference = references.get(c.name)
        if (!reference) {
          t.fail(`${c.name}: no Podman reference to compare with`)
          return
        }
        const theirs = applyPodmanDiffers(reference, c.spec)
        differences = [
          ...compareConfig(theirs.config, ours.config, COMPARED_CONFIG_KEYS),
          ...compareHistory(theirs.history, ours.history),
          ...compareFiles(dropRunMountPoints(theirs.files, ours.files), ours.files, true),
        ]
      }
      ;(differences.length ? summary.different : summary.equal).push(c.name)
      if (process.env.TSPOD_BUILD_REPORT) appendFileSync(process.env.TSPOD_BUILD_REPORT, JSON.stringify({case: c.name, differences}) + '\n')
      t.same(differences, [], `${c.name}: the image matches ${c.spec.podman === false ? 'expect.json' : 'Podman'}`)
    })
  }
  t.comment(`equal (${summary.equal.length}): ${summary.equal.join(' ')}`)
  t.comment(`different (${summary.different.length}): ${summary.different.join(' ')}`)
})
