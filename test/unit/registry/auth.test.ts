import t, {type Test} from 'tap'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {resolveHostPaths} from '../../../src/config/paths.js'
import {RegistryError} from '../../../src/errors/index.js'
import {
  basicAuthorization,
  eraseWithCredentialHelper,
  findCredentials,
  parseChallenges,
  parseCredsFlag,
  repositoryScope,
  runCredentialHelper,
  storeWithCredentialHelper,
} from '../../../src/registry/auth.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

t.test('parseChallenges reads bearer and basic challenges', async t => {
  t.same(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    {scheme: 'bearer', params: {realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push'}},
  ], 'quoted values keep their commas')
  t.same(parseChallenges('Basic realm="tspod-test"'), [{scheme: 'basic', params: {realm: 'tspod-test'}}])
  t.same(parseChallenges('Basic realm=plain, Bearer realm="x"'), [
    {scheme: 'basic', params: {realm: 'plain'}},
    {scheme: 'bearer', params: {realm: 'x'}},
  ], 'several challenges in one header')
  t.same(parseChallenges('Bearer realm="a\\"b"'), [{scheme: 'bearer', params: {realm: 'a"b'}}], 'escapes in quoted strings')
  t.same(parseChallenges(''), [])
})

t.test('parseCredsFlag splits at the first colon and refuses what is incomplete', async t => {
  t.same(parseCredsFlag('alice:pa:ss'), {username: 'alice', password: 'pa:ss'})
  t.throws(() => parseCredsFlag('alice'), /no password given/)
  t.throws(() => parseCredsFlag(':x'), /username must not be empty/)
  t.same(basicAuthorization({username: 'a', password: 'b'}), 'Basic YTpi')
  t.equal(repositoryScope('ns/repo', ['pull', 'push']), 'repository:ns/repo:pull,push')
})

// The e2e tests' helper, backed by a JSON file; and one that fails saying what it was given.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures')

function helperHost(t: Test) {
  const root = mkdtempSync(join(tmpdir(), 'tspod-helper-'))
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  const saved = {PATH: process.env.PATH, TSPODTEST_CREDS_FILE: process.env.TSPODTEST_CREDS_FILE}
  const bin = join(root, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'docker-credential-tspodfail'), '#!/bin/sh\necho "cannot store: $(cat)"\nexit 2\n', {mode: 0o755})
  process.env.PATH = `${fixtures}:${bin}:${saved.PATH}`
  process.env.TSPODTEST_CREDS_FILE = join(root, 'creds.json')
  t.teardown(() => {
    process.env.PATH = saved.PATH
    if (saved.TSPODTEST_CREDS_FILE === undefined) delete process.env.TSPODTEST_CREDS_FILE
    else process.env.TSPODTEST_CREDS_FILE = saved.TSPODTEST_CREDS_FILE
  })
  const paths = resolveHostPaths({uid: 1000, env: {HOME: join(root, 'home'), XDG_RUNTIME_DIR: join(root, 'xdg')}, runDir: join(root, 'run')})
  const write = (path: string, value: unknown) => {
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(path, JSON.stringify(value))
  }
  return {root, paths, write, creds: () => JSON.parse(readFileSync(join(root, 'creds.json'), 'utf8')) as unknown}
}

t.test('docker-credential helpers: store, get, erase', async t => {
  const host = helperHost(t)
  await storeWithCredentialHelper('tspodtest', 'reg.example:5000', {username: 'alice', password: 'pw'})
  t.same(host.creds(), {'reg.example:5000': {Username: 'alice', Secret: 'pw'}}, 'store sends ServerURL, Username and Secret')
  t.same(await runCredentialHelper('tspodtest', 'reg.example:5000'), {username: 'alice', password: 'pw'})
  t.equal(await runCredentialHelper('tspodtest', 'other.example'), undefined, '"credentials not found" is no credentials')
  t.equal(await eraseWithCredentialHelper('tspodtest', 'reg.example:5000'), true)
  t.equal(await eraseWithCredentialHelper('tspodtest', 'reg.example:5000'), false, 'erasing what is not there says so')
  await storeWithCredentialHelper('tspodtest', 'tok.example', {username: '<token>', password: 'refresh-me'})
  t.same(await runCredentialHelper('tspodtest', 'tok.example'), {username: '', password: '', identityToken: 'refresh-me'}, 'the <token> user marks an identity token')
  await t.rejects(runCredentialHelper('nosuch', 'reg.example'), {message: 'getting credentials for reg.example: docker-credential-nosuch not found in $PATH', constructor: RegistryError})
  const err = await storeWithCredentialHelper('tspodfail', 'reg.example', {username: 'alice', password: 'hush-hush'}).catch((e: Error) => e)
  t.match(err, {message: /^storing credentials for reg\.example: docker-credential-tspodfail store failed: cannot store: /})
  t.notMatch((err as Error).message, /hush-hush|alice/, 'what the helper echoes of the secret is cut out')
})

t.test('findCredentials: credential-helpers in order, credHelpers and credsStore in auth files', async t => {
  const host = helperHost(t)
  const authFile = join(host.root, 'auth.json')
  host.write(authFile, {auths: {'reg.example': {auth: b64('file:pw')}}})
  const helpersFirst = {paths: host.paths, authfile: authFile, credentialHelpers: ['tspodtest', 'containers-auth.json']}
  t.same(await findCredentials('reg.example/ns/app', helpersFirst), {username: 'file', password: 'pw'}, 'a helper with nothing falls through to the auth file')
  await storeWithCredentialHelper('tspodtest', 'reg.example', {username: 'helper', password: 'pw2'})
  t.same(await findCredentials('reg.example/ns/app', helpersFirst), {username: 'helper', password: 'pw2'}, 'the first helper that has them wins')
  t.same(await findCredentials('reg.example', {paths: host.paths, authfile: authFile}), {username: 'file', password: 'pw'}, 'by default only the auth files')

  host.write(authFile, {auths: {'reg.example': {}}, credHelpers: {'other.example': 'tspodfail'}, credsStore: 'tspodtest'})
  t.same(await findCredentials('reg.example/app', {paths: host.paths, authfile: authFile}), {username: 'helper', password: 'pw2'}, 'credsStore after an empty auths entry')
  await t.rejects(findCredentials('other.example/app', {paths: host.paths, authfile: authFile}), /docker-credential-tspodfail get failed/, 'credHelpers names the helper per registry')
  host.write(authFile, {auths: {'idt.example': {identitytoken: 'refresh'}}})
  t.same(await findCredentials('idt.example/app', {paths: host.paths, authfile: authFile}), {username: '', password: '', identityToken: 'refresh'})
  t.equal(await findCredentials('none.example/app', {paths: host.paths, authfile: authFile}), undefined)
})
