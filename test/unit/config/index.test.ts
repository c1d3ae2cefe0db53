import t from 'tap'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {loadConfig, type LoadConfigOptions} from '../../../src/config/index.js'

function fakeHost() {
  const root = mkdtempSync(join(tmpdir(), 'tspod-config-'))
  const xdg = join(root, 'xdg-run')
  mkdirSync(xdg, {mode: 0o700})
  const options: LoadConfigOptions = {
    uid: 1000,
    ownerUid: process.geteuid!(),
    env: {HOME: join(root, 'home'), XDG_RUNTIME_DIR: xdg},
    etcDir: join(root, 'etc'),
    usrShareDir: join(root, 'usr/share'),
    varDir: join(root, 'var'),
    runDir: join(root, 'run'),
  }
  const write = (rel: string, text: string) => {
    const p = join(root, rel)
    mkdirSync(dirname(p), {recursive: true})
    writeFileSync(p, text)
    return p
  }
  return {root, xdg, options, write}
}

t.test('sections load on first use; filesRead lists them all in a fixed order', async t => {
  const {root, xdg, options, write} = fakeHost()
  const reg = write('etc/containers/registries.conf', 'unqualified-search-registries = ["docker.io"]\n')
  const storage = write('etc/containers/storage.conf', '[storage]\ndriver = "overlay"\n')
  const cc = write('usr/share/containers/containers.conf', '[containers]\npids_limit = 10\n')
  const broken = write('home/.config/containers/registries.conf.d/x.conf', 'oops = [\n')
  const config = loadConfig({...options, storageDriver: 'vfs'})
  t.equal(config.containers.pidsLimit, 10, 'a broken registries drop-in does not stop containers.conf')
  t.same(config.storage, {
    graphRoot: join(root, 'home/.local/share/tspod'),
    runRoot: join(xdg, 'tspod'),
    driver: 'vfs',
    driverFrom: '--storage-driver',
    mountOptions: [],
    ignoreChownErrors: false,
    file: storage,
  })
  t.throws(() => config.registries, {message: new RegExp(`^parsing ${broken}: line 2, column 1: `)})
  writeFileSync(broken, '')
  const again = loadConfig(options)
  t.same(again.filesRead, [cc, storage, reg, broken])
  t.same(again.registries.unqualifiedSearchRegistries, ['docker.io'])
  t.equal(again.paths.rootless, true)
})

t.test('--root and --runroot win over everything', async t => {
  const {options} = fakeHost()
  const config = loadConfig({...options, root: '/flag/root', runroot: '/flag/run'})
  t.equal(config.storage.graphRoot, '/flag/root')
  t.equal(config.storage.runRoot, '/flag/run')
})

t.test("with this machine's /usr/share/containers the whole config loads", async t => {
  const {options} = fakeHost()
  const config = loadConfig({...options, usrShareDir: '/usr/share'})
  t.ok(config.containers.defaultCapabilities.length > 0)
  t.ok(Array.isArray(config.filesRead))
})
