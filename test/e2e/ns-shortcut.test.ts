/**
 * bin/tspod's shortcut into the user namespace: a command that runs there
 * (import, rmi, pull, …) enters the live pause process's namespace before
 * Node starts, instead of starting Node twice. Driven through the real
 * bin/tspod as the unprivileged user; the CLI's debug log tells which path
 * was taken.
 */
import t from 'tap'
import {mkdirSync, writeFileSync, chownSync} from 'node:fs'
import {join} from 'node:path'
import {expectExit, fixture, makeStore, repoRoot, requireUser, runAsUser, tspod, tspodBin} from './harness.js'

const SHORTCUT = /entered the user namespace of (\S+) before Node started/
const USUAL = /re-executing in the user namespace/

t.test('a namespace command takes the shortcut once the pause process lives', async t => {
  const store = makeStore(t)
  const first = await tspod(t, store, ['--log-level', 'debug', 'import', fixture('busybox-rootfs.tar'), 'bb'])
  expectExit(t, first, 0)
  t.match(first.stderr, USUAL, 'no pause process yet: the usual re-execution creates it')
  t.notMatch(first.stderr, SHORTCUT)

  const tag = await tspod(t, store, ['--log-level', 'debug', 'tag', 'bb', 'bb2'])
  expectExit(t, tag, 0)
  t.notMatch(tag.stderr, SHORTCUT, 'a command outside the namespace does not take it')
  t.notMatch(tag.stderr, USUAL)

  const rmi = await tspod(t, store, ['--log-level', 'debug', 'rmi', 'bb2'])
  expectExit(t, rmi, 0)
  t.equal(rmi.stderr.match(SHORTCUT)?.[1], store.runroot, 'rmi entered the namespace of its runroot before Node started')
  t.notMatch(rmi.stderr, USUAL)

  // --runroot after the command words, and a topic command.
  const late = await runAsUser([tspodBin, '--root', store.root, '--log-level', 'debug', 'image', 'import', '--runroot', store.runroot, fixture('busybox-rootfs.tar'), 'bb3'],
    {env: {XDG_CONFIG_HOME: store.configHome}})
  expectExit(t, late, 0)
  t.equal(late.stderr.match(SHORTCUT)?.[1], store.runroot, '`image import … --runroot R` finds R')

  const off = await tspod(t, store, ['--log-level', 'debug', 'rmi', 'bb3'], {env: {TSPOD_NS_SHORTCUT: '0'}})
  expectExit(t, off, 0)
  t.match(off.stderr, USUAL, 'TSPOD_NS_SHORTCUT=0 turns it off')
  t.notMatch(off.stderr, SHORTCUT)
})

t.test('the default runroot, and a storage.conf [tspod] table that moves it', async t => {
  const store = makeStore(t)
  const user = requireUser()
  const runtimeDir = join(store.dir, 'xdg-run')
  mkdirSync(runtimeDir, {mode: 0o700})
  if (user.switched) chownSync(runtimeDir, user.uid, user.gid)
  const env = {XDG_RUNTIME_DIR: runtimeDir, XDG_DATA_HOME: join(store.dir, 'data'), XDG_CONFIG_HOME: store.configHome}
  const defaults = (args: string[], extra: Record<string, string> = {}) => runAsUser([tspodBin, '--log-level', 'debug', ...args], {env: {...env, ...extra}})
  expectExit(t, await defaults(['import', fixture('busybox-rootfs.tar'), 'bb']), 0)
  const rmi = await defaults(['rmi', 'bb'])
  expectExit(t, rmi, 0)
  t.equal(rmi.stderr.match(SHORTCUT)?.[1], `${runtimeDir}/tspod`, 'without --runroot: $XDG_RUNTIME_DIR/tspod')

  // A [tspod] runroot in the user's storage.conf: bin/tspod cannot read TOML, so it leaves the command to the CLI.
  const moved = join(store.dir, 'moved-run')
  mkdirSync(join(store.configHome, 'containers'), {recursive: true})
  writeFileSync(join(store.configHome, 'containers', 'storage.conf'), `[storage]\ndriver = "overlay"\n\n[tspod]\nrunroot = "${moved}"\n`)
  if (user.switched) {
    chownSync(join(store.configHome, 'containers'), user.uid, user.gid)
    chownSync(join(store.configHome, 'containers', 'storage.conf'), user.uid, user.gid)
  }
  const viaConf = await defaults(['import', fixture('busybox-rootfs.tar'), 'bb'])
  expectExit(t, viaConf, 0)
  t.notMatch(viaConf.stderr, SHORTCUT, 'no shortcut when storage.conf has a [tspod] table')
  t.match(viaConf.stderr, /re-executing in the user namespace \(runroot \S*moved-run\)/, 'the CLI resolves the moved runroot itself')
  expectExit(t, await runAsUser([join(repoRoot, 'build', 'tspod-ns'), '--runroot', moved, '--stop']), 0)
  expectExit(t, await runAsUser([join(repoRoot, 'build', 'tspod-ns'), '--runroot', `${runtimeDir}/tspod`, '--stop']), 0)
})

t.test('the CLI refuses a namespace that is not its runroot\'s', async t => {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'bb']), 0)
  const helper = join(repoRoot, 'build', 'tspod-ns')
  const other = join(store.dir, 'other-run')
  const wrong = await runAsUser([helper, '--runroot', store.runroot, '--try-join', '--', 'node', join(repoRoot, 'dist', 'main.cjs'), '--root', store.root, '--runroot', other, 'rmi', 'bb'],
    {env: {TSPOD_NS_JOINED: store.runroot}})
  expectExit(t, wrong, 125, /^Error: bin\/tspod entered the user namespace of runroot \S+, but this command uses runroot \S*other-run$/m)
  t.match(wrong.stderr, /TSPOD_NS_SHORTCUT=0/, 'the hint names the way around')
  const outside = await runAsUser([helper, '--runroot', store.runroot, '--try-join', '--', 'node', join(repoRoot, 'dist', 'main.cjs'), '--root', store.root, '--runroot', store.runroot, 'images'],
    {env: {TSPOD_NS_JOINED: store.runroot}})
  expectExit(t, outside, 125, /^Error: bin\/tspod entered the user namespace for a command that runs outside it$/m)
  // No pause process for a runroot: tspod-ns runs the command as it is, and the CLI takes its usual path.
  const fresh = join(store.dir, 'fresh-run')
  const fallback = await runAsUser([helper, '--runroot', fresh, '--try-join', '--', 'node', join(repoRoot, 'dist', 'main.cjs'), '--log-level', 'debug', '--root', store.root, '--runroot', fresh, 'images', '-q'],
    {env: {TSPOD_NS_JOINED: fresh}})
  expectExit(t, fallback, 0)
  t.notMatch(fallback.stderr, /entered the user namespace/, 'without a live pause process the mark is dropped')
})
