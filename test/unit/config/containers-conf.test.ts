import t from 'tap'
import {existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {ConfigError} from '../../../src/errors/index.js'
import {DEFAULT_CAPABILITIES, loadContainersConf} from '../../../src/config/containers-conf.js'
import {resolveHostPaths, type HostPaths} from '../../../src/config/paths.js'

/** A fake host under a temp dir: rootless uid 1000 unless told otherwise. */
function fakeHost(env: Record<string, string> = {}, uid = 1000): {root: string; paths: HostPaths; write: (rel: string, text: string) => string} {
  const root = mkdtempSync(join(tmpdir(), 'tspod-cconf-'))
  const paths = resolveHostPaths({
    uid,
    ownerUid: process.geteuid!(),
    env: {HOME: join(root, 'home'), ...env},
    etcDir: join(root, 'etc'),
    usrShareDir: join(root, 'usr/share'),
    varDir: join(root, 'var'),
    runDir: join(root, 'run'),
    tmpDir: join(root, 'tmp'),
  })
  const write = (rel: string, text: string) => {
    const p = join(root, rel)
    mkdirSync(dirname(p), {recursive: true})
    writeFileSync(p, text)
    return p
  }
  return {root, paths, write}
}

t.test('defaults when no file exists', async t => {
  const {paths} = fakeHost()
  const files: string[] = []
  const conf = loadContainersConf(paths, files)
  t.same(files, [])
  t.same(conf.defaultCapabilities, DEFAULT_CAPABILITIES)
  t.equal(conf.pidsLimit, 2048)
  t.equal(conf.logDriver, 'k8s-file')
  t.equal(conf.logSizeMax, -1)
  t.equal(conf.init, false)
  t.equal(conf.initPath, undefined)
  t.equal(conf.umask, '0022')
  t.equal(conf.userns, 'host')
  t.equal(conf.shmSize, '65536k')
  t.equal(conf.label, true)
  t.equal(conf.runtime, undefined)
  t.equal(conf.imageDefaultTransport, 'docker://')
  t.equal(conf.unenforcedLimits, 'warn')
  t.match(conf.env, [/^PATH=/])
  t.ok(conf.runtimePaths('crun')!.includes('/usr/bin/crun'))
  t.ok(conf.runtimePaths('runc')!.includes('/usr/bin/runc'))
})

t.test('rootless reading order and per-key merging', async t => {
  const {paths, write} = fakeHost({XDG_CONFIG_HOME: ''})
  const order = [
    write('usr/share/containers/containers.conf', '[containers]\npids_limit = 1\ntz = "UTC"\n[engine.runtimes]\ncrun = ["/a/crun"]\nmine = ["/a/mine"]\n'),
    write('etc/containers/containers.conf', '[containers]\npids_limit = 2\n'),
    write('etc/containers/containers.conf.d/10-a.conf', '[containers]\numask = "0077"\n'),
    write('etc/containers/containers.conf.d/20-b.conf', '[engine]\nruntime = "runc"\n'),
    write('etc/containers/containers.rootless.conf', '[containers]\ninit = true\n'),
    write('etc/containers/containers.rootless.conf.d/1.conf', '[containers]\nlabel = false\n'),
    write('etc/containers/containers.rootless.conf.d/1000/1.conf', '[network]\ndefault_rootless_network_cmd = "slirp4netns"\n'),
    write('home/.config/containers/containers.conf', '[containers]\npids_limit = 3\n[engine.runtimes]\ncrun = ["/b/crun"]\n'),
    write('home/.config/containers/containers.conf.d/x.conf', '[tspod]\nunenforced_limits = "error"\n'),
  ]
  write('etc/containers/containers.rootless.conf.d/1001/1.conf', '[containers]\ntz = "other user"\n')
  write('etc/containers/containers.conf.d/ignored.txt', 'not toml at all [')
  const filesRead: string[] = []
  const conf = loadContainersConf(paths, filesRead)
  t.same(filesRead, order)
  t.same(conf.files, order)
  t.equal(conf.pidsLimit, 3)
  t.equal(conf.tz, 'UTC')
  t.equal(conf.umask, '0077')
  t.equal(conf.runtime, 'runc')
  t.equal(conf.init, true)
  t.equal(conf.label, false)
  t.equal(conf.defaultRootlessNetworkCmd, 'slirp4netns')
  t.equal(conf.unenforcedLimits, 'error')
  t.same(conf.runtimePaths('crun'), ['/b/crun'])
  t.same(conf.runtimePaths('mine'), ['/a/mine'])
  t.ok(conf.runtimes.runc!.length > 0, 'built-in runc list kept')
  t.equal(conf.get('engine', 'runtime'), 'runc')
})

t.test('root skips the rootless files but reads the user files', async t => {
  const {paths, write} = fakeHost({}, 0)
  write('etc/containers/containers.rootless.conf', '[containers]\ninit = true\n')
  const user = write('home/.config/containers/containers.conf', '[containers]\ntz = "local"\n')
  const conf = loadContainersConf(paths)
  t.equal(conf.init, false)
  t.equal(conf.tz, 'local')
  t.same(conf.files, [user])
})

t.test('{append = true} appends for this and later files until turned off', async t => {
  const {paths, write} = fakeHost()
  write('etc/containers/containers.conf', '[containers]\nenv = ["A=1"]\n')
  write('etc/containers/containers.conf.d/1.conf', '[containers]\nenv = ["B=2", {append = true}]\n')
  write('etc/containers/containers.conf.d/2.conf', '[containers]\nenv = ["C=3"]\n')
  t.same(loadContainersConf(paths).env, ['A=1', 'B=2', 'C=3'])
  write('etc/containers/containers.conf.d/3.conf', '[containers]\nenv = ["D=4", {append = false}]\n')
  t.same(loadContainersConf(paths).env, ['D=4'])
})

t.test('CONTAINERS_CONF alone, CONTAINERS_CONF_OVERRIDE last', async t => {
  const {root, write} = fakeHost()
  write('etc/containers/containers.conf', '[containers]\ntz = "etc"\n')
  write('home/.config/containers/containers.conf', '[containers]\numask = "0007"\n')
  const only = write('only.conf', '[containers]\npids_limit = 5\n')
  const last = write('override.conf', '[containers]\npids_limit = 6\n')
  const host = (env: Record<string, string>) =>
    resolveHostPaths({uid: 1000, env: {HOME: join(root, 'home'), ...env}, etcDir: join(root, 'etc'), usrShareDir: join(root, 'usr/share')})
  const a = loadContainersConf(host({CONTAINERS_CONF: only}))
  t.same(a.files, [only])
  t.equal(a.tz, '')
  t.equal(a.umask, '0022')
  t.equal(a.pidsLimit, 5)
  const b = loadContainersConf(host({CONTAINERS_CONF: only, CONTAINERS_CONF_OVERRIDE: last}))
  t.same(b.files, [only, last])
  t.equal(b.pidsLimit, 6)
  const c = loadContainersConf(host({CONTAINERS_CONF_OVERRIDE: last}))
  t.equal(c.files.at(-1), last)
  t.equal(c.tz, 'etc')
  t.equal(c.pidsLimit, 6)
  t.throws(() => loadContainersConf(host({CONTAINERS_CONF: join(root, 'missing.conf')})), {
    message: /no such file \(named by CONTAINERS_CONF\)/,
  })
})

t.test('errors name the file: syntax, wrong type, bad tspod value', async t => {
  const {paths, write} = fakeHost()
  const bad = write('home/.config/containers/containers.conf', '[containers]\npids_limit = "many"\n')
  t.throws(() => loadContainersConf(paths), {message: `${bad}: [containers] pids_limit: expected an integer, got a string`})
  write('home/.config/containers/containers.conf', '[containers]\nenv = "SECRET=x"\n')
  const err = t.throws(() => loadContainersConf(paths)) as ConfigError
  t.type(err, ConfigError)
  t.notMatch(err.message, /SECRET/, 'values are never echoed')
  write('home/.config/containers/containers.conf', '[engine.runtimes]\ncrun = "/usr/bin/crun"\n')
  t.throws(() => loadContainersConf(paths), {message: /\[engine\] runtimes\.crun: expected an array of strings/})
  write('home/.config/containers/containers.conf', '[tspod]\nunenforced_limits = "ignore"\n')
  t.throws(() => loadContainersConf(paths), {message: /unenforced_limits: must be "warn" or "error"/})
  write('home/.config/containers/containers.conf', 'containers = 3\n')
  t.throws(() => loadContainersConf(paths), {message: /containers: expected a table, got an integer/})
  write('home/.config/containers/containers.conf', '[containers]\nx = [\n')
  t.throws(() => loadContainersConf(paths), {message: new RegExp(`^parsing ${bad.replace(/[.]/g, '\\.')}: line \\d+, column \\d+: `)})
})

t.test('unknown keys and sections are kept loosely, not rejected', async t => {
  const {paths, write} = fakeHost()
  write('etc/containers/containers.conf', '[machine]\ncpus = 2\n[containers]\nnetns = "private"\n')
  const conf = loadContainersConf(paths)
  t.equal(conf.get('machine', 'cpus'), 2)
  t.equal(conf.get('containers', 'netns'), 'private')
  t.equal(conf.get('nothing', 'here'), undefined)
})

t.test("this machine's /usr/share/containers/containers.conf parses", {skip: !existsSync('/usr/share/containers/containers.conf') && 'not installed'}, async t => {
  const paths = resolveHostPaths({uid: 1000, env: {HOME: mkdtempSync(join(tmpdir(), 'tspod-home-'))}, etcDir: mkdtempSync(join(tmpdir(), 'tspod-etc-'))})
  const conf = loadContainersConf(paths)
  t.same(conf.files, ['/usr/share/containers/containers.conf'])
  t.ok(conf.defaultCapabilities.includes('CHOWN'))
})
