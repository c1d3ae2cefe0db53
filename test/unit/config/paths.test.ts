import t from 'tap'
import {chmodSync, lstatSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {RootlessSetupError} from '../../../src/errors/index.js'
import {
  certsDirs,
  defaultAuthFile,
  resolveHostPaths,
  resolveRuntimeDir,
  resolveStorePaths,
  type HostPathOptions,
} from '../../../src/config/paths.js'

const me = process.geteuid!()

function host(env: Record<string, string> = {}, extra: HostPathOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), 'tspod-paths-'))
  mkdirSync(join(root, 'tmp'))
  const options: HostPathOptions = {
    uid: 1000,
    gid: 1000,
    ownerUid: me,
    env: {HOME: join(root, 'home'), ...env},
    etcDir: join(root, 'etc'),
    usrShareDir: join(root, 'usr/share'),
    varDir: join(root, 'var'),
    runDir: join(root, 'run'),
    tmpDir: join(root, 'tmp'),
    ...extra,
  }
  return {root, options, paths: resolveHostPaths(options)}
}

t.test('XDG directories default under HOME and ignore relative values', async t => {
  const {root, paths} = host({XDG_CONFIG_HOME: 'relative', XDG_DATA_HOME: '/abs/data'})
  t.equal(paths.rootless, true)
  t.equal(paths.xdgConfigHome, join(root, 'home/.config'))
  t.equal(paths.xdgDataHome, '/abs/data')
  t.equal(paths.xdgCacheHome, join(root, 'home/.cache'))
  t.equal(paths.userContainers, join(root, 'home/.config/containers'))
  t.equal(paths.etcContainers, join(root, 'etc/containers'))
  t.equal(paths.usrShareContainers, join(root, 'usr/share/containers'))
})

t.test('inside the user namespace tspod stays rootless', async t => {
  const paths = resolveHostPaths({env: {HOME: '/h', TSPOD_USERNS: '1'}})
  t.equal(paths.rootless, true)
})

t.test('store paths: tspod defaults, never Podman graphroot', async t => {
  const xdg = join(mkdtempSync(join(tmpdir(), 'tspod-xdg-')), 'run')
  mkdirSync(xdg, {mode: 0o700})
  chmodSync(xdg, 0o700)
  const {root, options, paths} = host({XDG_RUNTIME_DIR: xdg})
  t.same(resolveStorePaths(options), {graphRoot: join(root, 'home/.local/share/tspod'), runRoot: join(xdg, 'tspod')})
  mkdirSync(join(root, 'etc/containers'), {recursive: true})
  writeFileSync(join(root, 'etc/containers/storage.conf'), '[storage]\ngraphroot = "/var/lib/containers/storage"\nrunroot = "/run/containers"\n')
  t.equal(resolveStorePaths(options, paths).graphRoot, join(root, 'home/.local/share/tspod'))
  const asRoot = host({}, {uid: 0})
  t.same(resolveStorePaths(asRoot.options), {graphRoot: join(asRoot.root, 'var/lib/tspod'), runRoot: join(asRoot.root, 'run/tspod')})
})

t.test('store paths: --root/--runroot, then [tspod] in storage.conf with $HOME and $UID', async t => {
  const {root, options} = host()
  mkdirSync(join(root, 'home/.config/containers'), {recursive: true})
  writeFileSync(join(root, 'home/.config/containers/storage.conf'), '[tspod]\ngraphroot = "$HOME/store-$UID"\nrunroot = "/run/x"\n')
  t.same(resolveStorePaths(options), {graphRoot: join(root, 'home/store-1000'), runRoot: '/run/x'})
  t.same(resolveStorePaths({...options, root: '/r', runroot: '/rr'}), {graphRoot: '/r', runRoot: '/rr'})
  writeFileSync(join(root, 'home/.config/containers/storage.conf'), '[tspod]\ngraphroot = "relative"\n')
  t.throws(() => resolveStorePaths(options), {message: /\[tspod\] graphroot: must be an absolute path/})
})

t.test('XDG_RUNTIME_DIR must exist, be ours and not writable by others', async t => {
  const base = mkdtempSync(join(tmpdir(), 'tspod-xdgrt-'))
  const missing = join(base, 'missing')
  const err = t.throws(() => resolveRuntimeDir(host({XDG_RUNTIME_DIR: missing}).paths)) as RootlessSetupError
  t.type(err, RootlessSetupError)
  t.equal(err.message, `invalid XDG_RUNTIME_DIR: ${missing} does not exist`)
  t.equal(err.hint, `As root run: mkdir -p -m 0700 ${missing} && chown 1000:1000 ${missing}; or unset XDG_RUNTIME_DIR to let tspod use a private directory under /tmp.`)

  const open = join(base, 'open')
  mkdirSync(open)
  chmodSync(open, 0o777)
  t.throws(() => resolveRuntimeDir(host({XDG_RUNTIME_DIR: open}).paths), {message: /is writable by others \(mode 0777\)/, hint: /chmod 0700/})

  const foreign = join(base, 'foreign')
  mkdirSync(foreign, {mode: 0o700})
  t.throws(() => resolveRuntimeDir(host({XDG_RUNTIME_DIR: foreign}, {ownerUid: me + 1}).paths), {
    message: `invalid XDG_RUNTIME_DIR: ${foreign} is owned by uid ${me}, not by you (uid 1000)`,
    hint: /chown 1000:1000/,
  })

  const file = join(base, 'file')
  writeFileSync(file, '')
  t.throws(() => resolveRuntimeDir(host({XDG_RUNTIME_DIR: file}).paths), {message: /is not a directory/})

  const good = join(base, 'good')
  mkdirSync(good, {mode: 0o700})
  const paths = host({XDG_RUNTIME_DIR: good}).paths
  t.equal(resolveRuntimeDir(paths), good)
  t.equal(paths.runtimeDir, good, 'remembered')
})

t.test('without XDG_RUNTIME_DIR: /run/user/UID if ours, else a private /tmp directory', async t => {
  const a = host()
  mkdirSync(join(a.root, 'run/user/1000'), {recursive: true, mode: 0o700})
  chmodSync(join(a.root, 'run/user/1000'), 0o700)
  t.equal(resolveRuntimeDir(a.paths), join(a.root, 'run/user/1000'))

  const b = host()
  const dir = resolveRuntimeDir(b.paths)
  t.equal(dir, join(b.root, 'tmp/tspod-run-1000'))
  t.equal(lstatSync(dir).mode & 0o777, 0o700)

  const c = host()
  mkdirSync(join(c.root, 'tmp/tspod-run-1000'), {mode: 0o755})
  chmodSync(join(c.root, 'tmp/tspod-run-1000'), 0o755)
  resolveRuntimeDir(c.paths)
  t.equal(lstatSync(join(c.root, 'tmp/tspod-run-1000')).mode & 0o777, 0o700, 'our own loose directory is tightened')

  const d = host({}, {ownerUid: me + 1})
  mkdirSync(join(d.root, 'tmp/tspod-run-1000'))
  t.throws(() => resolveRuntimeDir(d.paths), {message: /refusing runtime directory .*tspod-run-1000: it is owned by uid/, hint: /rm -rf/})

  const e = host()
  symlinkSync(e.root, join(e.root, 'tmp/tspod-run-1000'))
  t.throws(() => resolveRuntimeDir(e.paths), {message: /it is a symbolic link/})

  t.equal(resolveRuntimeDir(host({}, {uid: 0}).paths).endsWith('/run'), true, 'root uses /run')
})

t.test('auth.json default and certs.d candidates', async t => {
  t.equal(defaultAuthFile(host({XDG_RUNTIME_DIR: '/run/user/1000'}).paths), '/run/user/1000/containers/auth.json')
  const {root, paths} = host()
  t.equal(defaultAuthFile(paths), join(root, 'run/containers/1000/auth.json'))
  t.same(certsDirs(paths, 'reg:5000'), [
    join(root, 'home/.config/containers/certs.d/reg:5000'),
    join(root, 'etc/containers/certs.d/reg:5000'),
    join(root, 'etc/docker/certs.d/reg:5000'),
  ])
})
