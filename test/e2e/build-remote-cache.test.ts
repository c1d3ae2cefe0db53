// `tspod build --cache-to / --cache-from` against a real registry: step
// images pushed tagged with their cache keys, a fresh store that takes them
// instead of running the steps and ends with the same image, several
// repositories tried in order, --cache-ttl, --tls-verify, and a cache
// repository that cannot be reached costing one warning, not the build.
import t from 'tap'
import {chownSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {expectExit, fixture, makeStore, requireUser, tspod, type RunResult, type Store} from './harness.js'
import {startRegistry, writeRegistriesConf, type Registry} from './registry-harness.js'

const user = requireUser()
const BUILD_TIMEOUT_MS = 300_000

/** A build context in the store's directory, owned by the test user. */
function context(store: Store, name: string, files: Record<string, string>): string {
  const dir = join(store.dir, 'ctx', name)
  mkdirSync(dir, {recursive: true})
  for (const [rel, content] of Object.entries(files)) writeFileSync(join(dir, rel), content)
  if (user.switched) {
    for (const path of [join(store.dir, 'ctx'), dir, ...Object.keys(files).map(rel => join(dir, rel))]) chownSync(path, user.uid, user.gid)
  }
  return dir
}

function build(store: Store, args: string[]): Promise<RunResult> {
  return tspod(t, store, ['build', ...args], {timeoutMs: BUILD_TIMEOUT_MS})
}

/** Whether a RUN step printed `word` (the STEP line that shows the command does not count). */
function ran(result: RunResult, word: string): boolean {
  return result.stdout.split('\n').includes(word)
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? ''
}

async function tagsOf(registry: Registry, repository: string): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/${repository}/tags/list`)
  if (res.status === 404) return []
  const data = (await res.json()) as {tags?: string[] | null}
  return (data.tags ?? []).sort()
}

async function configDigestOf(registry: Registry, repository: string, tag: string): Promise<string> {
  const res = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {headers: {Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'}})
  const manifest = (await res.json()) as {config: {digest: string}}
  return manifest.config.digest
}

/** Two RUN steps that write random bytes and say they ran, and a COPY between them. */
const DOCKERFILE = (base: string) => [
  `FROM ${base}`,
  'RUN head -c 16 /dev/urandom | od -An -tx1 > /rand && echo ran-first',
  'ENV STAGE=one',
  'COPY hello /hello',
  'RUN cat /rand /hello > /both && head -c 8 /dev/urandom | od -An -tx1 >> /both && echo ran-second',
  '',
].join('\n')

t.test('--cache-to fills a repository; a fresh store with --cache-from runs no step and gets the same image', async t => {
  const registry = await startRegistry(t)
  const first = makeStore(t)
  writeRegistriesConf(first, [registry.host])
  // The base goes through the registry so that both stores hold it under the same image ID.
  const base = `${registry.host}/lib/base:1`
  expectExit(t, await tspod(t, first, ['import', fixture('busybox-rootfs.tar'), base]), 0)
  expectExit(t, await tspod(t, first, ['push', base]), 0)
  const files = {Dockerfile: DOCKERFILE(base), hello: 'hello\n'}

  const cache = `${registry.host}/build/cache`
  const built = await build(first, ['--cache-to', cache, '-t', 'out', context(first, 'one', files)])
  expectExit(t, built, 0)
  t.ok(ran(built, 'ran-first'), 'the RUN step ran')
  t.ok(ran(built, 'ran-second'), 'the RUN step ran')
  t.equal(built.stderr, '', 'no warning')
  const id = lastLine(built.stdout)
  t.match(id, /^[0-9a-f]{64}$/)
  const tags = await tagsOf(registry, 'build/cache')
  t.equal(tags.length, 3, 'one tag per RUN and COPY step (metadata steps are computed, not cached)')
  t.ok(tags.every(tag => /^[0-9a-f]{64}$/.test(tag)), 'tags are cache keys', {tags})
  const configs = await Promise.all(tags.map(tag => configDigestOf(registry, 'build/cache', tag)))
  t.ok(configs.includes(`sha256:${id}`), 'the last step\'s image is in the repository')
  const content = await tspod(t, first, ['run', '--rm', 'out', 'cat', '/both'])
  expectExit(t, content, 0)

  const second = makeStore(t)
  writeRegistriesConf(second, [registry.host])
  const empty = `${registry.host}/build/empty`
  const again = await build(second, ['--cache-from', empty, '--cache-from', cache, '-t', 'out', context(second, 'one', files)])
  expectExit(t, again, 0)
  t.notOk(ran(again, 'ran-first') || ran(again, 'ran-second'), 'no RUN step ran')
  t.equal(again.stdout.split('\n').filter(l => l.startsWith('--> Using cache ')).length, 3, 'the three steps came from the cache repository (the empty one was tried first)')
  t.equal(again.stderr.split('\n').filter(l => l.startsWith('WARN')).join('\n'), '', 'a repository without the tag is a quiet miss')
  t.equal(lastLine(again.stdout), id, 'the same image ID as the first build')
  const secondContent = await tspod(t, second, ['run', '--rm', 'out', 'cat', '/both'])
  expectExit(t, secondContent, 0)
  t.equal(secondContent.stdout, content.stdout, 'the files the first build\'s RUN steps wrote')
  const images = await tspod(t, second, ['images', '-a', '--format', '{{.Repository}}'])
  t.notMatch(images.stdout, /build\/cache/, 'cache images keep no name')

  const local = await build(second, ['--cache-ttl', '1h', '-t', 'out', context(second, 'one', files)])
  expectExit(t, local, 0)
  t.notOk(ran(local, 'ran-first'), 'the pulled steps are in the local cache now')
  await sleep(2100)
  const stale = await build(second, ['--cache-ttl', '2s', context(second, 'one', files)])
  expectExit(t, stale, 0)
  t.ok(ran(stale, 'ran-first'), '--cache-ttl: entries older than it are misses')
  const none = await build(second, ['--cache-ttl', '0', '--cache-from', cache, context(second, 'one', files)])
  expectExit(t, none, 0)
  t.ok(ran(none, 'ran-first'), '--cache-ttl=0 is --no-cache')

  // The first store has every step in its local cache: --cache-to still fills a new repository.
  const filled = await build(first, ['--cache-to', `${registry.host}/build/other`, context(first, 'one', files)])
  expectExit(t, filled, 0)
  t.notOk(ran(filled, 'ran-first'), 'the RUN step did not run')
  t.same(await tagsOf(registry, 'build/other'), tags, 'steps taken from the local cache are pushed where missing')
})

t.test('an unreachable cache repository costs one warning, not the build; --tls-verify holds for cache repositories', async t => {
  const registry = await startRegistry(t)
  const store = makeStore(t)
  writeRegistriesConf(store, [registry.host])
  const base = `${registry.host}/lib/base:1`
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), base]), 0)
  const files = {Dockerfile: DOCKERFILE(base), hello: 'hello\n'}

  const down = '127.0.0.1:1/cache'
  const result = await build(store, ['--cache-from', down, '--cache-to', down, context(store, 'down', files)])
  expectExit(t, result, 0)
  t.ok(ran(result, 'ran-first'), 'the RUN step ran')
  t.ok(ran(result, 'ran-second'), 'the RUN step ran')
  const warnings = result.stderr.split('\n').filter(l => l.includes('build cache repository'))
  t.equal(warnings.length, 1, 'one warning', {stderr: result.stderr})
  t.match(warnings[0], /^WARN\[\d+\] build cache repository 127\.0\.0\.1:1\/cache: .*; not used for the rest of this build$/)

  // registries.conf lets this registry speak plain HTTP; --tls-verify overrides it for the cache too.
  const cache = `${registry.host}/build/cache`
  const strict = await build(store, ['--tls-verify=true', '--no-cache', '--cache-to', cache, context(store, 'down', files)])
  expectExit(t, strict, 0)
  t.equal(strict.stderr.split('\n').filter(l => l.includes(`build cache repository ${cache}`)).length, 1, 'refused without TLS: one warning', {stderr: strict.stderr})
  t.same(await tagsOf(registry, 'build/cache'), [], 'nothing was pushed')

  const bad = await build(store, ['--cache-from', `${cache}:sometag`, context(store, 'down', files)])
  expectExit(t, bad, 125, /--cache-from .*:sometag: name a repository without a tag or digest/)
})

t.test('credentials for cache repositories come from the auth file', async t => {
  const password = 'c4che-S3cret'
  const registry = await startRegistry(t, {auth: {username: 'alice', password}})
  const store = makeStore(t)
  writeRegistriesConf(store, [registry.host])
  const authFile = join(store.dir, 'auth.json')
  const env = {REGISTRY_AUTH_FILE: authFile}
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'base']), 0)
  const dir = context(store, 'auth', {Dockerfile: DOCKERFILE('base'), hello: 'hello\n'})
  const cache = `${registry.host}/private/cache`

  const denied = await tspod(t, store, ['build', '--cache-to', cache, dir], {env, timeoutMs: BUILD_TIMEOUT_MS})
  expectExit(t, denied, 0)
  t.match(denied.stderr, new RegExp(`build cache repository ${cache.replace(/\./g, '\\.')}: .*authentication required`), 'without a login: a warning')

  expectExit(t, await tspod(t, store, ['login', '-u', 'alice', '--password-stdin', registry.host], {env, input: password}), 0)
  const pushed = await tspod(t, store, ['build', '--cache-to', cache, dir], {env, timeoutMs: BUILD_TIMEOUT_MS})
  expectExit(t, pushed, 0)
  t.notMatch(pushed.stderr, /build cache repository/, 'logged in: no warning')
  const res = await fetch(`${registry.url}/v2/private/cache/tags/list`, {headers: {Authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`}})
  const data = (await res.json()) as {tags?: string[]}
  t.equal((data.tags ?? []).length, 3, 'the steps were pushed with the credentials of the auth file')
})
