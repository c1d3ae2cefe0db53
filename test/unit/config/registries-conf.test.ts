import t from 'tap'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {ConfigError, InvalidArgumentError, RegistryError} from '../../../src/errors/index.js'
import {normalizeReference, formatReference} from '../../../src/image/reference.js'
import {resolveHostPaths} from '../../../src/config/paths.js'
import {
  findRegistry,
  loadRegistriesConf,
  pullSources,
  recordShortNameAlias,
  shortNameAliasCacheFile,
  type RegistriesConfig,
} from '../../../src/config/registries-conf.js'

function fakeHost(env: Record<string, string> = {}, uid = 1000) {
  const root = mkdtempSync(join(tmpdir(), 'tspod-rconf-'))
  const paths = () =>
    resolveHostPaths({
      uid,
      env: {HOME: join(root, 'home'), ...env},
      etcDir: join(root, 'etc'),
      usrShareDir: join(root, 'usr/share'),
      varDir: join(root, 'var'),
    })
  const write = (rel: string, text: string) => {
    const p = rel.startsWith('/') ? rel : join(root, rel)
    mkdirSync(dirname(p), {recursive: true})
    writeFileSync(p, text)
    return p
  }
  return {root, paths, write}
}

t.test('nothing configured: permissive, no search registries, auth files as helper', async t => {
  const {root, paths} = fakeHost()
  const conf = loadRegistriesConf(paths())
  t.same(conf.unqualifiedSearchRegistries, [])
  t.equal(conf.searchRegistriesOrigin, join(root, 'etc/containers/registries.conf'))
  t.equal(conf.shortNameMode, 'permissive')
  t.same(conf.credentialHelpers, ['containers-auth.json'])
  t.same(conf.files, [])
  t.equal(conf.aliasCacheFile, join(root, 'home/.cache/containers/short-name-aliases.conf'))
  t.equal(shortNameAliasCacheFile(fakeHost({}, 0).paths()).endsWith('/var/cache/containers/short-name-aliases.conf'), true)
})

t.test('system file, system drop-ins, user drop-ins, alias cache: in order, later wins', async t => {
  const {paths, write} = fakeHost()
  const main = write('etc/containers/registries.conf', `
unqualified-search-registries = ["docker.io", "quay.io/"]
short-name-mode = "enforcing"
[[registry]]
prefix = "example.com/foo"
location = "internal.example.net/bar"
[aliases]
"busybox" = "docker.io/busybox"
"gone" = "quay.io/a/gone"
"kept" = "quay.io/a/kept"
`)
  const d1 = write('etc/containers/registries.conf.d/10-a.conf', `
[[registry]]
prefix = "example.com/foo"
location = "replaced.example.net/bar"
[[registry]]
location = "added.example.com"
insecure = true
[aliases]
"gone" = ""
`)
  write('etc/containers/registries.conf.d/README', 'not a conf')
  const d2 = write('home/.config/containers/registries.conf.d/20-user.conf', 'unqualified-search-registries = ["registry.fedoraproject.org"]\n[aliases]\n"mine" = "localhost/mine"\n')
  const cache = write('home/.cache/containers/short-name-aliases.conf', '[aliases]\n"kept" = "quay.io/b/kept"\n')
  const filesRead: string[] = []
  const conf = loadRegistriesConf(paths(), filesRead)
  t.same(filesRead, [main, d1, d2, cache])
  t.same(conf.files, filesRead)
  t.same(conf.unqualifiedSearchRegistries, ['registry.fedoraproject.org'])
  t.equal(conf.searchRegistriesOrigin, d2)
  t.equal(conf.shortNameMode, 'enforcing')
  t.same(conf.registries.map(r => [r.prefix, r.location, r.insecure, r.origin]), [
    ['example.com/foo', 'replaced.example.net/bar', false, d1],
    ['added.example.com', 'added.example.com', true, d1],
  ])
  t.same(Object.fromEntries(conf.aliases), {
    busybox: {value: 'docker.io/library/busybox', origin: main},
    kept: {value: 'quay.io/b/kept', origin: cache},
    mine: {value: 'localhost/mine', origin: d2},
  })
})

t.test('a user registries.conf replaces the system file and the system drop-ins', async t => {
  const {paths, write} = fakeHost()
  write('etc/containers/registries.conf', 'unqualified-search-registries = ["sys.example.com"]\n')
  write('etc/containers/registries.conf.d/1.conf', '[aliases]\n"sys" = "sys.example.com/x"\n')
  const user = write('home/.config/containers/registries.conf', 'unqualified-search-registries = ["user.example.com"]\n')
  const userDrop = write('home/.config/containers/registries.conf.d/1.conf', 'credential-helpers = ["pass"]\n')
  const conf = loadRegistriesConf(paths())
  t.same(conf.files, [user, userDrop])
  t.same(conf.unqualifiedSearchRegistries, ['user.example.com'])
  t.equal(conf.aliases.has('sys'), false)
  t.same(conf.credentialHelpers, ['pass'])
})

t.test('CONTAINERS_REGISTRIES_CONF replaces the main file; drop-ins still apply', async t => {
  const {root, write} = fakeHost()
  const named = write('named.conf', 'unqualified-search-registries = ["named.example.com"]\n')
  write('home/.config/containers/registries.conf', 'unqualified-search-registries = ["user.example.com"]\n')
  const drop = write('etc/containers/registries.conf.d/1.conf', 'short-name-mode = "disabled"\n')
  const host = (file: string) => resolveHostPaths({uid: 1000, env: {HOME: join(root, 'home'), CONTAINERS_REGISTRIES_CONF: file}, etcDir: join(root, 'etc')})
  const conf = loadRegistriesConf(host(named))
  t.same(conf.files, [named, drop])
  t.same(conf.unqualifiedSearchRegistries, ['named.example.com'])
  t.equal(conf.shortNameMode, 'disabled')
  t.throws(() => loadRegistriesConf(host(join(root, 'missing.conf'))), {message: /no such file \(named by CONTAINERS_REGISTRIES_CONF\)/})
})

t.test('version 1 format in the main file', async t => {
  const {paths, write} = fakeHost()
  write('etc/containers/registries.conf', `
[registries.search]
registries = ['registry1.com', 'registry2.com']
[registries.insecure]
registries = ['registry3.com', 'registry1.com']
[registries.block]
registries = ['bad.com']
`)
  const conf = loadRegistriesConf(paths())
  t.same(conf.unqualifiedSearchRegistries, ['registry1.com', 'registry2.com'])
  t.same(conf.registries.map(r => [r.prefix, r.insecure, r.blocked]), [
    ['bad.com', false, true],
    ['registry3.com', true, false],
    ['registry1.com', true, false],
  ])
})

t.test('invalid files are ConfigErrors naming the file', async t => {
  const cases: Array<[string, RegExp]> = [
    ['unqualified-search-registries = ["https://docker.io"]', /URI schemes are not supported/],
    ['unqualified-search-registries = ["docker.io/library"]', /invalid unqualified-search-registries entry "docker.io\/library": must be host\[:port\]/],
    ['short-name-mode = "strict"', /invalid short-name-mode "strict"/],
    ['[[registry]]\nprefix = "example.com"', /location: cannot be empty/],
    ['[[registry]]\nprefix = "example.*.com"\nlocation = "x.com"', /wildcard is only allowed as a leading/],
    ['[[registry]]\nprefix = "*.example.com/foo"', /wildcard is only allowed/],
    ['[[registry]]\nlocation = "x.com"\n[[registry.mirror]]\ninsecure = true', /\[\[registry\.mirror\]\] location: cannot be empty/],
    ['[[registry]]\nlocation = "x.com"\n[[registry.mirror]]\nlocation = "m.com"\npull-from-mirror = "sometimes"', /invalid pull-from-mirror "sometimes"/],
    ['[[registry]]\nlocation = "x.com"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.com"\npull-from-mirror = "all"', /both mirror-by-digest-only and/],
    ['[[registry]]\nlocation = "x.com"\ninsecure = "yes"', /\[\[registry\]\] insecure: expected a boolean, got a string/],
    ['[aliases]\n"quay.io/x" = "quay.io/x"', /invalid short-name alias "quay.io\/x": must not contain a registry/],
    ['[aliases]\n"x:1" = "quay.io/x"', /must not contain a tag or digest/],
    ['[aliases]\n"x" = "x"', /invalid value for alias "x": "x" must contain a registry/],
    ['[aliases]\n"x" = "quay.io/x:1"', /must not contain a tag or digest/],
    ['[aliases]\n"x" = "quay.io/X"', /must be lowercase/],
    ['unqualified-search-registries = ["b.com"]\n[registries.search]\nregistries = ["a.com"]', /mixing the version 1/],
    ['[[registry]]\nlocation = "x.com"\ninsecure = true\n[[registry]]\nprefix = "x.com/a"\nlocation = "x.com"', /registry "x.com" is defined more than once with conflicting 'insecure' settings/],
  ]
  for (const [text, message] of cases) {
    const {paths, write} = fakeHost()
    const file = write('etc/containers/registries.conf', text + '\n')
    const err = t.throws(() => loadRegistriesConf(paths()), message, text) as ConfigError
    t.type(err, ConfigError)
    t.match(err.message, file)
  }
  const {paths, write} = fakeHost()
  write('etc/containers/registries.conf.d/1.conf', '[registries.search]\nregistries = ["a.com"]\n')
  t.throws(() => loadRegistriesConf(paths()), {message: /drop-in files must use the version 2 format/})
})

function conf(text: string): RegistriesConfig {
  const {paths, write} = fakeHost()
  write('etc/containers/registries.conf', text)
  return loadRegistriesConf(paths())
}

t.test('findRegistry: longest prefix that ends at a separator; wildcard subdomains', async t => {
  const c = conf(`
[[registry]]
location = "example.com"
[[registry]]
prefix = "example.com/foo"
location = "foo.example.net"
[[registry]]
prefix = "example.com/foo/bar"
location = "bar.example.net"
[[registry]]
prefix = "*.wild.com"
insecure = true
[[registry]]
prefix = "deep.wild.com"
location = "deep.wild.com"
`)
  const find = (ref: string) => findRegistry(c, ref)?.prefix
  t.equal(find('example.com/foo/bar/baz:1'), 'example.com/foo/bar')
  t.equal(find('example.com/foo/barbaz'), 'example.com/foo')
  t.equal(find('example.com/foo:tag'), 'example.com/foo')
  t.equal(find('example.com/other'), 'example.com')
  t.equal(find('example.com'), 'example.com')
  t.equal(find('example.community/x'), undefined)
  t.equal(find('a.wild.com/x'), '*.wild.com')
  t.equal(find('a.b.wild.com/x'), '*.wild.com')
  t.equal(find('wild.com/x'), undefined)
  t.equal(find('deep.wild.com/x'), 'deep.wild.com', 'a longer exact prefix beats the wildcard')
  t.equal(findRegistry(c, 'a.wild.com/x')!.insecure, true)
})

t.test('pullSources: mirrors first, rewritten, by pull-from-mirror and mirror-by-digest-only', async t => {
  const c = conf(`
[[registry]]
prefix = "example.com/foo"
location = "internal.example.net/bar"
[[registry.mirror]]
location = "mirror-0.local/mirror-for-foo"
[[registry.mirror]]
location = "mirror-1.local/mirrors/foo"
insecure = true
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "mirror-2.local/foo"
pull-from-mirror = "digest-only"
[[registry]]
location = "digests.com"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.digests.com"
[[registry]]
prefix = "docker.io/library/alpine"
location = "hub-mirror.local/alpine"
[[registry]]
prefix = "*.wild.com"
[[registry.mirror]]
location = "wild-mirror.local"
[[registry]]
location = "blocked.com"
blocked = true
`)
  const names = (ref: string) => pullSources(c, normalizeReference(ref)).map(s => `${formatReference(s.reference)}${s.insecure ? ' (insecure)' : ''}${s.mirror ? ' [mirror]' : ''}`)
  t.same(names('example.com/foo/image:latest'), [
    'mirror-0.local/mirror-for-foo/image:latest [mirror]',
    'mirror-1.local/mirrors/foo/image:latest (insecure) [mirror]',
    'internal.example.net/bar/image:latest',
  ])
  const digest = `sha256:${'b'.repeat(64)}`
  t.same(names(`example.com/foo/image@${digest}`), [
    `mirror-0.local/mirror-for-foo/image@${digest} [mirror]`,
    `mirror-2.local/foo/image@${digest} [mirror]`,
    `internal.example.net/bar/image@${digest}`,
  ])
  t.same(names('digests.com/x:1'), ['digests.com/x:1'])
  t.same(names(`digests.com/x@${digest}`), [`m.digests.com/x@${digest} [mirror]`, `digests.com/x@${digest}`])
  t.same(names('docker.io/alpine:3'), ['hub-mirror.local/alpine:3'], 'the prefix must spell out library/')
  t.same(names('a.wild.com/ns/x:1'), ['wild-mirror.local/ns/x:1 [mirror]', 'a.wild.com/ns/x:1'])
  t.same(names('quay.io/x:1'), ['quay.io/x:1'])
  t.throws(() => pullSources(c, normalizeReference('blocked.com/x')), RegistryError)
  t.throws(() => pullSources(c, normalizeReference('blocked.com/x')), {message: /registry "blocked.com" is blocked in /})
})

t.test('recordShortNameAlias writes the cache file atomically, 0600, and updates the config', async t => {
  const {paths, write} = fakeHost()
  write('home/.cache/containers/short-name-aliases.conf', '[aliases]\n"old" = "quay.io/old"\n')
  const c = loadRegistriesConf(paths())
  await recordShortNameAlias(c, 'busybox', 'docker.io/busybox')
  t.same(c.aliases.get('busybox'), {value: 'docker.io/library/busybox', origin: c.aliasCacheFile})
  t.equal(statSync(c.aliasCacheFile).mode & 0o777, 0o600)
  const again = loadRegistriesConf(paths())
  t.equal(again.aliases.get('busybox')!.value, 'docker.io/library/busybox')
  t.equal(again.aliases.get('old')!.value, 'quay.io/old')
  t.match(readFileSync(c.aliasCacheFile, 'utf8'), /^\[aliases\]\n/)
  await t.rejects(recordShortNameAlias(c, 'quay.io/x', 'quay.io/x'), InvalidArgumentError)
  await t.rejects(recordShortNameAlias(c, 'x', 'x'), InvalidArgumentError)
  const fresh = fakeHost()
  const fc = loadRegistriesConf(fresh.paths())
  t.equal(existsSync(fc.aliasCacheFile), false)
  await recordShortNameAlias(fc, 'x', 'quay.io/x')
  t.equal(loadRegistriesConf(fresh.paths()).aliases.get('x')!.value, 'quay.io/x', 'creates the directory and file')
})

t.test("this machine's registries.conf and shortnames.conf parse", {skip: !existsSync('/etc/containers/registries.conf.d') && 'not installed'}, async t => {
  const paths = resolveHostPaths({uid: 1000, env: {HOME: mkdtempSync(join(tmpdir(), 'tspod-home-'))}})
  const c = loadRegistriesConf(paths)
  t.ok(c.files.length > 0)
  if (c.aliases.has('busybox')) t.equal(c.aliases.get('busybox')!.value, 'docker.io/library/busybox')
})
