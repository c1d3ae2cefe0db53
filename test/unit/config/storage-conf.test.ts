import t from 'tap'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {resolveHostPaths} from '../../../src/config/paths.js'
import {loadStorageConf} from '../../../src/config/storage-conf.js'

function fakeHost(env: Record<string, string> = {}, uid = 1000) {
  const root = mkdtempSync(join(tmpdir(), 'tspod-sconf-'))
  const xdg = join(root, 'xdg-run')
  mkdirSync(xdg, {mode: 0o700})
  const paths = () =>
    resolveHostPaths({
      uid,
      ownerUid: process.geteuid!(),
      env: {HOME: join(root, 'home'), XDG_RUNTIME_DIR: xdg, ...env},
      etcDir: join(root, 'etc'),
      usrShareDir: join(root, 'usr/share'),
      varDir: join(root, 'var'),
      runDir: join(root, 'run'),
    })
  const write = (rel: string, text: string) => {
    const p = join(root, rel)
    mkdirSync(dirname(p), {recursive: true})
    writeFileSync(p, text)
    return p
  }
  return {root, xdg, paths, write}
}

const overlayConf = `[storage]
driver = "overlay"
graphroot = "/var/lib/containers/storage"
runroot = "/run/containers/storage"
rootless_storage_path = "$HOME/.local/share/containers/storage"
[storage.options]
mount_program = "/usr/bin/legacy-place"
[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
mountopt = "nodev, metacopy=on"
ignore_chown_errors = "true"
`

t.test('no storage.conf: tspod defaults, no driver', async t => {
  const {root, xdg, paths} = fakeHost()
  const files: string[] = []
  const conf = loadStorageConf(paths(), {}, files)
  t.same(conf, {graphRoot: join(root, 'home/.local/share/tspod'), runRoot: join(xdg, 'tspod'), mountOptions: [], ignoreChownErrors: false})
  t.same(files, [])
})

t.test('the system file gives driver and overlay options, never Podman paths', async t => {
  const {root, xdg, paths, write} = fakeHost()
  const file = write('etc/containers/storage.conf', overlayConf)
  write('usr/share/containers/storage.conf', '[storage]\ndriver = "vfs"\n')
  const files: string[] = []
  const conf = loadStorageConf(paths(), {}, files)
  t.same(files, [file])
  t.same(conf, {
    graphRoot: join(root, 'home/.local/share/tspod'),
    runRoot: join(xdg, 'tspod'),
    driver: 'overlay',
    driverFrom: file,
    mountProgram: '/usr/bin/fuse-overlayfs',
    mountOptions: ['nodev', 'metacopy=on'],
    ignoreChownErrors: true,
    file,
  })
})

t.test('/usr/share/containers/storage.conf is the fallback', async t => {
  const {paths, write} = fakeHost()
  const file = write('usr/share/containers/storage.conf', '[storage]\ndriver = "vfs"\n[storage.options]\nmount_program = "/bin/m"\nignore_chown_errors = false\n')
  const conf = loadStorageConf(paths())
  t.equal(conf.file, file)
  t.equal(conf.driver, 'vfs')
  t.equal(conf.mountProgram, '/bin/m')
  t.equal(conf.ignoreChownErrors, false)
})

t.test('rootless: the user file replaces the system one; a system driver unusable rootless is dropped', async t => {
  const {paths, write} = fakeHost()
  write('etc/containers/storage.conf', '[storage]\ndriver = "zfs"\n')
  t.equal(loadStorageConf(paths()).driver, undefined)
  const asRoot = fakeHost({}, 0)
  asRoot.write('etc/containers/storage.conf', '[storage]\ndriver = "zfs"\n')
  t.equal(loadStorageConf(asRoot.paths()).driver, 'zfs', 'root keeps it')
  const user = write('home/.config/containers/storage.conf', '[storage]\ndriver = "vfs"\n')
  const conf = loadStorageConf(paths())
  t.equal(conf.file, user)
  t.equal(conf.driver, 'vfs')
  t.equal(conf.driverFrom, user)
})

t.test('root ignores the user file and uses /var/lib/tspod and /run/tspod', async t => {
  const {root, paths, write} = fakeHost({}, 0)
  write('home/.config/containers/storage.conf', '[storage]\ndriver = "vfs"\n')
  const conf = loadStorageConf(paths())
  t.equal(conf.driver, undefined)
  t.equal(conf.graphRoot, join(root, 'var/lib/tspod'))
  t.equal(conf.runRoot, join(root, 'run/tspod'))
})

t.test('CONTAINERS_STORAGE_CONF, [tspod] paths, flags and STORAGE_DRIVER', async t => {
  const {root, write} = fakeHost()
  const named = write('named.conf', '[storage]\ndriver = "vfs"\ngraphroot = "/podman/graph"\n[tspod]\ngraphroot = "/tspod/graph"\nrunroot = "/tspod/run"\n')
  write('home/.config/containers/storage.conf', '[storage]\ndriver = "overlay"\n')
  const {paths} = fakeHost({CONTAINERS_STORAGE_CONF: named})
  const conf = loadStorageConf(paths())
  t.equal(conf.file, named)
  t.equal(conf.driver, 'vfs')
  t.equal(conf.graphRoot, '/tspod/graph')
  t.equal(conf.runRoot, '/tspod/run')
  const flagged = loadStorageConf(paths(), {root: '/flag/root', runroot: '/flag/run', storageDriver: 'overlay'})
  t.same([flagged.graphRoot, flagged.runRoot, flagged.driver, flagged.driverFrom], ['/flag/root', '/flag/run', 'overlay', '--storage-driver'])
  const envDriver = fakeHost({CONTAINERS_STORAGE_CONF: named, STORAGE_DRIVER: 'overlay'})
  t.same([loadStorageConf(envDriver.paths()).driver, loadStorageConf(envDriver.paths()).driverFrom], ['overlay', 'STORAGE_DRIVER'])
  const missing = fakeHost({CONTAINERS_STORAGE_CONF: join(root, 'nope.conf')})
  t.throws(() => loadStorageConf(missing.paths()), {message: /no such file \(named by CONTAINERS_STORAGE_CONF\)/})
})

t.test('wrong types are errors naming the file and key', async t => {
  const {paths, write} = fakeHost()
  const file = write('home/.config/containers/storage.conf', '[storage]\ndriver = 1\n')
  t.throws(() => loadStorageConf(paths()), {message: `${file}: [storage] driver: expected a string, got an integer`})
  write('home/.config/containers/storage.conf', '[storage.options.overlay]\nignore_chown_errors = "yes"\n')
  t.throws(() => loadStorageConf(paths()), {message: /\[storage\.options\.overlay\] ignore_chown_errors: expected true or false/})
})
