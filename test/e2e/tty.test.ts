// `run -it` at a real pseudo-terminal: the container gets a tty of the
// terminal's size, input reaches it, its exit code comes back, and the detach
// keys leave it running.
import t from 'tap'
import {join} from 'node:path'
import {expectExit, fixture, makeStore, repoRoot, runAsUser, tspod, tspodBin} from './harness.js'

const ptyRun = join(repoRoot, 'test', 'fixtures', 'pty-run.py')

t.test('run -it through a pseudo-terminal', async t => {
  const store = makeStore(t)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  t.teardown(async () => {
    await tspod(t, store, ['rm', '-af', '-t', '0'])
  })
  const cli = [tspodBin, '--root', store.root, '--runroot', store.runroot]
  const r = await runAsUser(['python3', ptyRun, '33', '101', 'tty; stty size; echo typed-$((6*7)); exit 4\\n', '#', '--', ...cli, 'run', '--rm', '-it', 'busybox', 'sh'])
  t.equal(r.code, 4, 'the shell\'s exit code comes back', {stdout: r.stdout, stderr: r.stderr})
  t.match(r.stdout, /\/dev\/pts\/0/, 'the container has a terminal')
  t.match(r.stdout, /33 101/, 'of the terminal\'s size')
  t.match(r.stdout, /typed-42/, 'input reaches it')

  // ctrl-p ctrl-q detaches: the CLI exits 0, the container keeps running.
  const d = await runAsUser(['python3', ptyRun, '24', '80', '\\x10\\x11', '#', '--', ...cli, 'run', '-it', '--name', 'stays', 'busybox', 'sh'])
  t.equal(d.code, 0, 'detaching exits 0', {stdout: d.stdout, stderr: d.stderr})
  t.equal((await tspod(t, store, ['inspect', '--format', '{{.State.Status}}', 'stays'])).stdout, 'running', 'the container still runs')
  const custom = await runAsUser(['python3', ptyRun, '24', '80', '\\x01', '#', '--', ...cli, 'run', '-it', '--detach-keys', 'ctrl-a', '--name', 'stays2', 'busybox', 'sh'])
  t.equal(custom.code, 0, '--detach-keys ctrl-a')
  expectExit(t, await tspod(t, store, ['run', '--rm', '-it', '--detach-keys', 'ctrl-9', 'busybox', 'true']), 125, /invalid detach keys/)
})
