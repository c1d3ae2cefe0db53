import t from 'tap'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {ConfigError, InvalidArgumentError} from '../../../src/errors/index.js'
import {authFiles, credentialStoreFor, lookupAuth, primaryAuthFile} from '../../../src/config/auth-files.js'
import {resolveHostPaths} from '../../../src/config/paths.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

function fakeHost(env: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'tspod-auth-'))
  const xdg = join(root, 'xdg-run')
  const paths = resolveHostPaths({uid: 1000, env: {HOME: join(root, 'home'), XDG_RUNTIME_DIR: xdg, ...env}, runDir: join(root, 'run')})
  const write = (rel: string, value: unknown) => {
    const p = join(root, rel)
    mkdirSync(dirname(p), {recursive: true})
    writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value))
    return p
  }
  return {root, paths, write}
}

t.test('search order, and REGISTRY_AUTH_FILE or --authfile alone', async t => {
  const {root, paths} = fakeHost()
  t.same(authFiles(paths), [
    {path: join(root, 'xdg-run/containers/auth.json'), legacy: false},
    {path: join(root, 'home/.config/containers/auth.json'), legacy: false},
    {path: join(root, 'home/.docker/config.json'), legacy: false},
    {path: join(root, 'home/.dockercfg'), legacy: true},
  ])
  t.equal(primaryAuthFile(paths), join(root, 'xdg-run/containers/auth.json'))
  t.same(authFiles(fakeHost({REGISTRY_AUTH_FILE: '/a.json'}).paths), [{path: '/a.json', legacy: false}])
  t.same(authFiles(fakeHost({REGISTRY_AUTH_FILE: '/a.json'}).paths, '/b.json'), [{path: '/b.json', legacy: false}])
  t.equal(authFiles(fakeHost({DOCKER_CONFIG: '/dc'}).paths)[2]!.path, '/dc/config.json')
  const noXdg = resolveHostPaths({uid: 1000, env: {HOME: '/h'}, runDir: '/r'})
  t.equal(primaryAuthFile(noXdg), '/r/containers/1000/auth.json')
})

t.test('nothing configured: undefined, and absent files are fine', async t => {
  t.equal(lookupAuth('quay.io', {paths: fakeHost().paths}), undefined)
})

t.test('repository-scoped keys, most specific first, then the registry', async t => {
  const {paths, write} = fakeHost()
  const file = write('xdg-run/containers/auth.json', {
    auths: {
      'quay.io/ns/repo': {auth: b64('repo-user:repo-pass')},
      'quay.io/ns': {auth: b64('ns-user:ns-pass')},
      'quay.io': {auth: b64('reg-user:reg:pass:with:colons')},
    },
  })
  t.same(lookupAuth('quay.io/ns/repo', {paths}), {username: 'repo-user', password: 'repo-pass', source: file})
  t.same(lookupAuth('quay.io/ns/repo:tag', {paths}), {username: 'repo-user', password: 'repo-pass', source: file}, 'tag ignored')
  t.same(lookupAuth('quay.io/ns/other', {paths}), {username: 'ns-user', password: 'ns-pass', source: file})
  t.same(lookupAuth('quay.io/elsewhere/x', {paths}), {username: 'reg-user', password: 'reg:pass:with:colons', source: file})
  t.same(lookupAuth('quay.io', {paths}), {username: 'reg-user', password: 'reg:pass:with:colons', source: file})
  t.same(lookupAuth('https://quay.io/v2/', {paths}), {username: 'reg-user', password: 'reg:pass:with:colons', source: file})
  t.equal(lookupAuth('quay.iox/a', {paths}), undefined)
})

t.test('later files are searched when earlier ones have no answer', async t => {
  const {paths, write} = fakeHost()
  write('xdg-run/containers/auth.json', {auths: {'other.io': {auth: b64('a:b')}}})
  write('home/.config/containers/auth.json', {auths: {'localhost:5000': {}}})
  const docker = write('home/.docker/config.json', {auths: {'https://index.docker.io/v1/': {auth: b64('hub:secret')}, 'http://localhost:5000': {username: 'u', password: 'p'}}})
  const legacy = write('home/.dockercfg', {'https://legacy.io/v1/': {auth: b64('old:timer'), email: 'x@y'}})
  t.same(lookupAuth('docker.io/library/busybox', {paths}), {username: 'hub', password: 'secret', source: docker})
  t.same(lookupAuth('docker.io/busybox', {paths}), {username: 'hub', password: 'secret', source: docker})
  t.same(lookupAuth('localhost:5000/x', {paths}), {username: 'u', password: 'p', source: docker}, 'an empty entry does not stop the search')
  t.same(lookupAuth('legacy.io/a/b', {paths}), {username: 'old', password: 'timer', source: legacy})
})

t.test('credHelpers, credsStore, identity tokens', async t => {
  const {paths, write} = fakeHost()
  const file = write('xdg-run/containers/auth.json', {
    auths: {'token.io': {auth: b64('u:'), identitytoken: 'refresh'}, 'store.io': {}},
    credHelpers: {'helped.io': 'secretservice'},
    credsStore: 'desktop',
  })
  t.same(lookupAuth('helped.io/x/y', {paths}), {helper: 'secretservice', source: file})
  t.same(lookupAuth('token.io/x', {paths}), {identitytoken: 'refresh', username: 'u', source: file})
  t.same(lookupAuth('store.io', {paths}), {helper: 'desktop', source: file})
  t.same(lookupAuth('anything.io', {paths}), {helper: 'desktop', source: file})
})

t.test('registries.conf credential-helpers: auth files where listed, else the helper', async t => {
  const {paths, write} = fakeHost()
  const file = write('xdg-run/containers/auth.json', {auths: {'quay.io': {auth: b64('a:b')}}})
  t.same(lookupAuth('quay.io', {paths, credentialHelpers: ['containers-auth.json', 'pass']}), {username: 'a', password: 'b', source: file})
  t.same(lookupAuth('other.io', {paths, credentialHelpers: ['containers-auth.json', 'pass']}), {helper: 'pass', source: 'registries.conf credential-helpers'})
  t.same(lookupAuth('quay.io', {paths, credentialHelpers: ['pass']}), {helper: 'pass', source: 'registries.conf credential-helpers'})
})

t.test('errors name the file but never a credential', async t => {
  const {paths, write} = fakeHost()
  const file = write('xdg-run/containers/auth.json', '{"auths": {"quay.io": {"auth": "c2VjcmV0OnBhc3M="},}}')
  const err = t.throws(() => lookupAuth('quay.io', {paths})) as ConfigError
  t.type(err, ConfigError)
  t.match(err.message, new RegExp(`^parsing ${file}: (line \\d+, column \\d+: )?invalid JSON$`))
  t.notMatch(err.message, /c2VjcmV0/)
  write('xdg-run/containers/auth.json', {auths: {'quay.io': {auth: 'not base64!'}}})
  const bad = t.throws(() => lookupAuth('quay.io', {paths})) as ConfigError
  t.equal(bad.message, `parsing ${file}: auths entry "quay.io": "auth" is not valid base64`)
  write('xdg-run/containers/auth.json', '[]')
  t.throws(() => lookupAuth('quay.io', {paths}), {message: /expected a JSON object/})
  write('xdg-run/containers/auth.json', {auths: []})
  t.throws(() => lookupAuth('quay.io', {paths}), {message: /"auths" must be a JSON object/})
  t.throws(() => lookupAuth('library/busybox', {paths}), InvalidArgumentError)
})

t.test('credentialStoreFor: where login stores and logout erases', async t => {
  const {root, paths, write} = fakeHost()
  t.equal(credentialStoreFor('reg.example', {paths}), undefined, 'no auth file: the file itself')
  write('xdg-run/containers/auth.json', {auths: {}, credHelpers: {'reg.example': 'pass'}, credsStore: 'secretservice'})
  t.equal(credentialStoreFor('reg.example', {paths}), 'pass', 'the credHelpers entry for the registry')
  t.equal(credentialStoreFor('other.example', {paths}), 'secretservice', 'else credsStore')
  t.equal(credentialStoreFor('reg.example', {paths, credentialHelpers: ['ecr-login', 'containers-auth.json']}), 'ecr-login', "registries.conf's first helper")
  write('home/.docker/config.json', {credsStore: 'desktop'})
  write('xdg-run/containers/auth.json', {auths: {}})
  t.equal(credentialStoreFor('reg.example', {paths}), undefined, 'only the file login writes counts')
  t.equal(credentialStoreFor('reg.example', {paths, authfile: join(root, 'home/.docker/config.json')}), 'desktop', 'or the one --authfile names')
  t.throws(() => credentialStoreFor('reg.example/ns', {paths, authfile: join(root, 'home/.docker/config.json')}), InvalidArgumentError, 'helpers keep whole registries only')
  t.equal(credentialStoreFor('reg.example/ns', {paths}), undefined, 'a repository key goes to the file')
})
