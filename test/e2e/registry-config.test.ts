// The registry configuration a user writes, proven against real registries:
// docker-credential helpers (credHelpers, credsStore, registries.conf
// credential-helpers) for login, push, pull and logout; identity tokens
// through the OAuth2 refresh-token grant; registries.conf mirrors,
// pull-from-mirror and blocked; certs.d with a client certificate; and the
// short-name prompt on a terminal. Secrets are checked to stay out of every
// output, --log-level=debug included.
import t, {type Test} from 'tap'
import {chownSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {expectExit, fixture, makeStore, repoRoot, requireUser, runAsUser, tspod, tspodBin, type RunResult, type Store} from './harness.js'
import {startRegistry, startTokenServer, writeRegistriesConf} from './registry-harness.js'

const ID = /^[a-f0-9]{64}$/
const fixtures = join(repoRoot, 'test', 'fixtures')
const ptyRun = join(fixtures, 'pty-run.py')
// The login PATH of the test user, with the fixtures' docker-credential-tspodtest in front.
const HELPER_PATH = `${fixtures}:/usr/local/bin:/usr/bin:/bin`

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Writes a file (and its missing parents) as the test user would own it. */
function writeUserFile(path: string, content: string): void {
  const user = requireUser()
  const parents: string[] = []
  for (let dir = dirname(path); !existsSync(dir); dir = dirname(dir)) parents.unshift(dir)
  for (const dir of parents) {
    mkdirSync(dir, {mode: 0o700})
    if (user.switched) chownSync(dir, user.uid, user.gid)
  }
  writeFileSync(path, content, {mode: 0o600})
  if (user.switched) chownSync(path, user.uid, user.gid)
}

/** registries.conf in the store's XDG_CONFIG_HOME, exactly as given. */
function writeConf(store: Store, text: string): void {
  writeUserFile(join(store.configHome, 'containers', 'registries.conf'), text)
}

function insecure(...hosts: string[]): string {
  return hosts.map(host => `[[registry]]\nlocation = "${host}"\ninsecure = true\n`).join('\n')
}

/** The environment that puts the test helper on PATH with its store in the test's directory. */
function helperEnv(store: Store): Record<string, string> {
  return {PATH: HELPER_PATH, TSPODTEST_CREDS_FILE: join(store.dir, 'helper-creds.json')}
}

function helperCreds(store: Store): Record<string, {Username: string; Secret: string}> {
  try {
    return JSON.parse(readFileSync(join(store.dir, 'helper-creds.json'), 'utf8'))
  } catch {
    return {}
  }
}

function helperLog(store: Store): string[] {
  try {
    return readFileSync(join(store.dir, 'helper-creds.json.log'), 'utf8').trim().split('\n')
  } catch {
    return []
  }
}

function secretFree(t: Test, result: RunResult, secrets: string[]): void {
  const all = result.stdout + result.stderr
  for (const secret of secrets) t.notOk(all.includes(secret), `no secret in the output of ${result.command}`)
}

/** An image whose ID tells where it came from: busybox with a CMD naming its origin. */
async function pushMarked(t: Test, store: Store, image: string, mark: string, extra: string[] = []): Promise<string> {
  const imported = await tspod(t, store, ['import', '--change', `CMD=["/bin/echo","${mark}"]`, fixture('busybox-rootfs.tar'), image])
  expectExit(t, imported, 0)
  expectExit(t, await tspod(t, store, ['push', ...extra, image]), 0)
  return imported.stdout.trim().replace(/^sha256:/, '')
}

t.test('credential helpers: credHelpers in the auth file for login, push, pull and logout', async t => {
  const password = 'h3lper-S3cret'
  const registry = await startRegistry(t, {auth: {username: 'alice', password}})
  const image = `${registry.host}/private/busybox:1`
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host])
  const authFile = join(a.dir, 'auth.json')
  writeUserFile(authFile, JSON.stringify({credHelpers: {[registry.host]: 'tspodtest'}}))
  const env = {...helperEnv(a), REGISTRY_AUTH_FILE: authFile}
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)

  const denied = await tspod(t, a, ['push', image], {env})
  expectExit(t, denied, 125, new RegExp(`authentication required\\nRun: tspod login ${escape(registry.host)}`))
  t.ok(helperLog(a).includes(`get ${registry.host}`), 'the helper was asked for the registry')

  const login = await tspod(t, a, ['--log-level=debug', 'login', '-u', 'alice', '--password-stdin', registry.host], {env, input: `${password}\n`})
  expectExit(t, login, 0)
  t.match(login.stdout, /Login Succeeded!$/)
  secretFree(t, login, [password])
  t.same(helperCreds(a)[registry.host], {Username: 'alice', Secret: password}, 'the helper keeps the credentials')
  t.same(JSON.parse(readFileSync(authFile, 'utf8')), {credHelpers: {[registry.host]: 'tspodtest'}}, 'the auth file is untouched')

  const pushed = await tspod(t, a, ['--log-level=debug', 'push', image], {env})
  expectExit(t, pushed, 0)
  secretFree(t, pushed, [password, Buffer.from(`alice:${password}`).toString('base64')])
  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host])
  const pulled = await tspod(t, b, ['--log-level=debug', 'pull', image], {env})
  expectExit(t, pulled, 0)
  secretFree(t, pulled, [password, Buffer.from(`alice:${password}`).toString('base64')])
  t.match(pulled.stdout.trim().split('\n').pop(), ID)

  const out = await tspod(t, a, ['logout', registry.host], {env})
  expectExit(t, out, 0)
  t.equal(out.stdout, `Removed login credentials for ${registry.host}`)
  t.same(helperCreds(a), {}, 'logout erased them from the helper')
  t.ok(helperLog(a).includes(`erase ${registry.host}`))
  expectExit(t, await tspod(t, a, ['logout', registry.host], {env}), 125, `not logged into ${registry.host}`)
  const c = makeStore(t)
  writeRegistriesConf(c, [registry.host])
  expectExit(t, await tspod(t, c, ['pull', image], {env}), 125, new RegExp(`Run: tspod login ${escape(registry.host)}`))
  expectExit(t, await tspod(t, a, ['login', '-u', 'alice', '--password-stdin', registry.host], {env, input: password}), 0)
  t.equal(Object.keys(helperCreds(a)).length, 1)
  expectExit(t, await tspod(t, a, ['logout', '--all'], {env}), 0)
  t.same(helperCreds(a), {}, 'logout --all erases what credHelpers registries hold')

  const wrong = await tspod(t, a, ['login', '-u', 'alice', '-p', 'not-it', registry.host], {env})
  expectExit(t, wrong, 125, /invalid username\/password/)
  t.same(helperCreds(a), {}, 'credentials the registry refuses are not stored')

  const repoLogin = await tspod(t, a, ['login', '-u', 'alice', '--password-stdin', `${registry.host}/private`], {env, input: password})
  expectExit(t, repoLogin, 125, /credentials for a repository cannot be kept by docker-credential-tspodtest/)

  const missingFile = join(a.dir, 'missing-helper.json')
  writeUserFile(missingFile, JSON.stringify({credHelpers: {[registry.host]: 'nosuch'}}))
  const missing = await tspod(t, c, ['pull', image], {env: {...env, REGISTRY_AUTH_FILE: missingFile}})
  expectExit(t, missing, 125, /getting credentials for .*: docker-credential-nosuch not found in \$PATH\nInstall docker-credential-nosuch/)
})

t.test('credential helpers: credsStore in ~/.docker/config.json and registries.conf credential-helpers', async t => {
  const password = 'st0re-S3cret'
  const registry = await startRegistry(t, {auth: {username: 'alice', password}})
  const image = `${registry.host}/private/busybox:1`
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host])
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  expectExit(t, await tspod(t, a, ['push', '--creds', `alice:${password}`, image]), 0)

  // Docker's layout: the secret in the store named by credsStore, nothing in auths.
  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host])
  const home = join(b.dir, 'home')
  writeUserFile(join(home, '.docker', 'config.json'), JSON.stringify({auths: {[registry.host]: {}}, credsStore: 'tspodtest'}))
  writeUserFile(join(b.dir, 'helper-creds.json'), JSON.stringify({[registry.host]: {Username: 'alice', Secret: password}}))
  const env = {...helperEnv(b), HOME: home}
  const pulled = await tspod(t, b, ['--log-level=debug', 'pull', '-q', image], {env})
  expectExit(t, pulled, 0)
  secretFree(t, pulled, [password])
  t.ok(helperLog(b).includes(`get ${registry.host}`), 'credsStore named the helper')

  const loggedOut = await tspod(t, b, ['logout', '--authfile', join(home, '.docker', 'config.json'), registry.host], {env})
  expectExit(t, loggedOut, 0)
  t.same(helperCreds(b), {}, 'logout with credsStore erases from the store')
  const relogin = await tspod(t, b, ['login', '--authfile', join(home, '.docker', 'config.json'), '-u', 'alice', '--password-stdin', registry.host], {env, input: password})
  expectExit(t, relogin, 0)
  t.same(helperCreds(b)[registry.host], {Username: 'alice', Secret: password}, 'login with credsStore stores there')
  t.notOk(readFileSync(join(home, '.docker', 'config.json'), 'utf8').includes(Buffer.from(`alice:${password}`).toString('base64')), 'and not in config.json')

  // credential-helpers: the helper first; with nothing there, the auth file.
  const c = makeStore(t)
  const conf = `credential-helpers = ["tspodtest", "containers-auth.json"]\n\n${insecure(registry.host)}`
  writeConf(c, conf)
  const authFile = join(c.dir, 'auth.json')
  writeUserFile(authFile, JSON.stringify({auths: {[registry.host]: {auth: Buffer.from(`alice:${password}`).toString('base64')}}}))
  const cEnv = {...helperEnv(c), REGISTRY_AUTH_FILE: authFile}
  const fallThrough = await tspod(t, c, ['pull', '-q', image], {env: cEnv})
  expectExit(t, fallThrough, 0)
  t.ok(helperLog(c).includes(`get ${registry.host}`), 'the helper was asked first')
  const viaConf = await tspod(t, c, ['login', '-u', 'alice', '--password-stdin', registry.host], {env: {...cEnv, REGISTRY_AUTH_FILE: join(c.dir, 'other-auth.json')}, input: password})
  expectExit(t, viaConf, 0)
  t.same(helperCreds(c)[registry.host], {Username: 'alice', Secret: password}, 'login stores to the first credential helper')
})

t.test('identity tokens: the OAuth2 refresh-token grant at the token realm', async t => {
  const user = {username: 'bob', password: 'hunter2'}
  const identityToken = 'idt-0123456789-refresh'
  const token = await startTokenServer(t, user, {identityToken})
  const registry = await startRegistry(t, {token})
  const image = `${registry.host}/tokens/busybox:1`
  const a = makeStore(t)
  writeRegistriesConf(a, [registry.host])
  const authFile = join(a.dir, 'auth.json')
  writeUserFile(authFile, JSON.stringify({auths: {[registry.host]: {identitytoken: identityToken}}}))
  const env = {REGISTRY_AUTH_FILE: authFile}
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)

  const pushed = await tspod(t, a, ['--log-level=debug', 'push', image], {env})
  expectExit(t, pushed, 0)
  secretFree(t, pushed, [identityToken])
  const grants = token.requests.filter(r => r.grant === 'refresh_token')
  t.ok(grants.length >= 1, 'the token came from the refresh-token grant')
  t.ok(grants.every(r => r.user === user.username && r.scope.includes('repository:tokens/busybox:pull,push')), 'for the pushing scope')

  const b = makeStore(t)
  writeRegistriesConf(b, [registry.host])
  const before = token.requests.length
  const pulled = await tspod(t, b, ['--log-level=debug', 'pull', image], {env})
  expectExit(t, pulled, 0)
  secretFree(t, pulled, [identityToken])
  t.match(pulled.stdout.trim().split('\n').pop(), ID)
  t.ok(token.requests.slice(before).some(r => r.grant === 'refresh_token' && r.scope.includes('repository:tokens/busybox:pull')), 'the pull used the identity token')

  const badFile = join(a.dir, 'bad-auth.json')
  writeUserFile(badFile, JSON.stringify({auths: {[registry.host]: {identitytoken: 'idt-revoked'}}}))
  const refused = await tspod(t, a, ['push', image], {env: {REGISTRY_AUTH_FILE: badFile}})
  expectExit(t, refused, 125, new RegExp(`authenticating to ${escape(registry.host)}: the token server refused the identity token\\nRun: tspod login`))
  secretFree(t, refused, ['idt-revoked'])
})

t.test('mirrors: the mirror first, the primary when it is down; pull-from-mirror; blocked', async t => {
  const primary = await startRegistry(t)
  const mirror = await startRegistry(t)
  const path = 'mirrored/busybox:1'
  const image = `${primary.host}/${path}`
  const seed = makeStore(t)
  writeRegistriesConf(seed, [primary.host, mirror.host])
  const fromPrimary = await pushMarked(t, seed, image, 'primary')
  const fromMirror = await pushMarked(t, seed, `${mirror.host}/${path}`, 'mirror')
  t.not(fromPrimary, fromMirror)

  const mirrorConf = (extra = ''): string => `[[registry]]\nlocation = "${primary.host}"\ninsecure = true\n\n[[registry.mirror]]\nlocation = "${mirror.host}"\ninsecure = true\n${extra}`
  const a = makeStore(t)
  writeConf(a, mirrorConf())
  const viaMirror = await tspod(t, a, ['pull', image])
  expectExit(t, viaMirror, 0)
  t.equal(viaMirror.stdout.trim(), fromMirror, 'the mirror served the image')
  t.match(viaMirror.stderr, new RegExp(`^Trying to pull ${escape(mirror.host)}/${escape(path)}\\.\\.\\.\\n`))
  const names = await tspod(t, a, ['images', '--format', '{{.Repository}}:{{.Tag}}'])
  t.equal(names.stdout, image, 'stored under the name asked for')

  const b = makeStore(t)
  writeConf(b, mirrorConf('pull-from-mirror = "digest-only"\n'))
  const byTag = await tspod(t, b, ['pull', '-q', image])
  expectExit(t, byTag, 0)
  t.equal(byTag.stdout.trim(), fromPrimary, 'pull-from-mirror = "digest-only" skips the mirror for a tag')

  await mirror.stop()
  const c = makeStore(t)
  writeConf(c, mirrorConf())
  const fallback = await tspod(t, c, ['pull', image])
  expectExit(t, fallback, 0)
  t.equal(fallback.stdout.trim(), fromPrimary, 'with the mirror down the primary serves it')
  t.match(fallback.stderr, new RegExp(`Trying to pull ${escape(mirror.host)}/.*\\nTrying to pull ${escape(primary.host)}/`), 'the mirror was tried first')

  const d = makeStore(t)
  writeConf(d, `[[registry]]\nlocation = "${primary.host}"\nblocked = true\n`)
  const blocked = await tspod(t, d, ['pull', image])
  expectExit(t, blocked, 125, new RegExp(`^Error: pulling ${escape(image)}: registry "${escape(primary.host)}" is blocked in ${escape(d.configHome)}/containers/registries.conf\\nRemove blocked = true`))
})

t.test('certs.d: a registry that requires a client certificate', async t => {
  const registry = await startRegistry(t, {tls: true, clientCerts: true})
  const image = `${registry.host}/mtls/busybox:1`
  const certs = registry.clientCertDir!
  const a = makeStore(t)
  writeRegistriesConf(a, [])
  expectExit(t, await tspod(t, a, ['import', fixture('busybox-rootfs.tar'), image]), 0)
  expectExit(t, await tspod(t, a, ['push', '--cert-dir', certs, image]), 0)

  const b = makeStore(t)
  writeRegistriesConf(b, [])
  const home = join(b.dir, 'home')
  const userCerts = join(home, '.config', 'containers', 'certs.d', registry.host)
  writeUserFile(join(userCerts, 'ca.crt'), readFileSync(join(certs, 'ca.crt'), 'utf8'))
  const env = {HOME: home}
  const refused = await tspod(t, b, ['pull', image], {env})
  expectExit(t, refused, 125)
  const lines = refused.stderr.split('\n').filter(line => !line.startsWith('Trying to pull'))
  t.equal(lines.length, 2, 'one error line and one hint', {stderr: refused.stderr})
  t.match(lines[0], new RegExp(`^Error: pinging container registry ${escape(registry.host)}: TLS with ${escape(registry.host)} failed: the registry requires a client certificate and none was found \\(TLS alert "bad certificate"\\)$`))
  t.match(lines[1], new RegExp(`NAME\\.cert and NAME\\.key .* in ${escape(userCerts)}`), 'the hint names the certs.d directory')

  expectExit(t, await runAsUser(['cp', join(certs, 'client.cert'), join(certs, 'client.key'), userCerts]), 0)
  const pulled = await tspod(t, b, ['pull', '-q', image], {env})
  expectExit(t, pulled, 0)
  t.match(pulled.stdout, ID, 'with the pair in ~/.config/containers/certs.d the pull works')

  const c = makeStore(t)
  writeRegistriesConf(c, [])
  expectExit(t, await tspod(t, c, ['pull', '-q', '--cert-dir', certs, image]), 0, /^$/)
  const noPair = await tspod(t, c, ['pull', '--cert-dir', registry.certDir!, image])
  expectExit(t, noPair, 125, new RegExp(`requires a client certificate.*\\n.* in ${escape(registry.certDir!)}`))
})

t.test('short names: a prompt on a terminal records an alias; enforcing without one fails; permissive tries in order', async t => {
  const first = await startRegistry(t)
  const second = await startRegistry(t)
  const seed = makeStore(t)
  writeRegistriesConf(seed, [first.host, second.host])
  const inFirst = await pushMarked(t, seed, `${first.host}/tools/box:1`, 'first')
  const inSecond = await pushMarked(t, seed, `${second.host}/tools/box:1`, 'second')
  await pushMarked(t, seed, `${second.host}/tools/only-second:1`, 'only')

  const search = `unqualified-search-registries = ["${first.host}", "${second.host}"]\n`
  const a = makeStore(t)
  writeConf(a, `${search}short-name-mode = "enforcing"\n\n${insecure(first.host, second.host)}`)
  const cache = join(a.dir, 'cache')
  const env = {XDG_CACHE_HOME: cache}
  const noTty = await tspod(t, a, ['pull', 'tools/box:1'], {env})
  expectExit(t, noTty, 125, `Error: short-name resolution enforced but cannot prompt without a TTY: "tools/box:1" could be ${first.host}/tools/box:1, ${second.host}/tools/box:1\n`)

  const cli = [tspodBin, '--root', a.root, '--runroot', a.runroot]
  const prompted = await runAsUser(['python3', ptyRun, '24', '100', '9\\n2\\n', 'Enter a number', '--', ...cli, 'pull', 'tools/box:1'], {env: {...env, XDG_CONFIG_HOME: a.configHome}})
  t.equal(prompted.code, 0, 'the pull through the prompt succeeds', {stdout: prompted.stdout, stderr: prompted.stderr})
  t.match(prompted.stdout, `? Please select an image:\r\n  1) ${first.host}/tools/box:1\r\n  2) ${second.host}/tools/box:1\r\nEnter a number (1-2): `)
  t.match(prompted.stdout, 'Enter a number (1-2): 9\r\n2\r\nEnter a number (1-2): ', 'an answer out of range asks again')
  t.match(prompted.stdout, `Trying to pull ${second.host}/tools/box:1...`)
  t.match(prompted.stdout, inSecond, 'the chosen registry served the image')
  t.notMatch(prompted.stdout, `Trying to pull ${first.host}`, 'the other candidate was not tried')
  const aliases = join(cache, 'containers', 'short-name-aliases.conf')
  t.equal(readFileSync(aliases, 'utf8'), `[aliases]\n  "tools/box" = "${second.host}/tools/box"\n`, 'the choice is recorded as an alias')

  const again = makeStore(t)
  writeConf(again, `${search}short-name-mode = "enforcing"\n\n${insecure(first.host, second.host)}`)
  const viaAlias = await tspod(t, again, ['pull', '-q', 'tools/box:1'], {env})
  expectExit(t, viaAlias, 0)
  t.equal(viaAlias.stdout.trim(), inSecond, 'the recorded alias resolves without a prompt')
  t.not(inFirst, inSecond)

  const p = makeStore(t)
  writeConf(p, `${search}short-name-mode = "permissive"\n\n${insecure(first.host, second.host)}`)
  const permissive = await tspod(t, p, ['pull', 'tools/only-second:1'], {env: {XDG_CACHE_HOME: join(p.dir, 'cache')}})
  expectExit(t, permissive, 0)
  t.match(permissive.stderr, new RegExp(`Trying to pull ${escape(first.host)}/tools/only-second:1\\.\\.\\.\\nTrying to pull ${escape(second.host)}/tools/only-second:1\\.\\.\\.`), 'permissive without a terminal tries the candidates in order')
  const firstOnly = await tspod(t, p, ['pull', '-q', 'tools/box:1'], {env: {XDG_CACHE_HOME: join(p.dir, 'cache')}})
  expectExit(t, firstOnly, 0)
  t.equal(firstOnly.stdout.trim(), inFirst, 'the first candidate that has it wins')
})
