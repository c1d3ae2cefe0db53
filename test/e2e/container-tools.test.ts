// The commands that work on an existing container: exec, attach, top,
// pause/unpause, cp, diff, export, commit, mount/unmount; rootless, through
// the real runtime, with Podman's messages and exit codes.
import t from 'tap'
import {chownSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pack} from 'tar-stream'
import {detectCgroups} from '../../src/engine/host.js'
import {expectExit, fixture, makeStore, repoRoot, requireUser, runAsUser, tspod, tspodBin, type RunResult} from './harness.js'

const ptyRun = join(repoRoot, 'test', 'fixtures', 'pty-run.py')
const user = requireUser()
const store = makeStore(t)
const cli = [tspodBin, '--root', store.root, '--runroot', store.runroot]
const env = {XDG_CONFIG_HOME: store.configHome}
const hostDir = join(store.dir, 'host')

/** A shell pipeline as the test user, with this store's tspod as $T. */
function sh(script: string, input?: string | Buffer): Promise<RunResult> {
  return runAsUser(['sh', '-c', script, 'sh', ...cli], {env, input, cwd: hostDir})
}
const T = '"$@"'

function own(path: string): void {
  if (user.switched) chownSync(path, user.uid, user.gid)
}

async function tarOf(entries: Array<{name: string; body?: string; uid?: number; type?: 'file' | 'directory'}>): Promise<Buffer> {
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>(resolve => p.on('end', () => resolve()))
  for (const e of entries) p.entry({name: e.name, uid: e.uid ?? 0, gid: e.uid ?? 0, type: e.type ?? 'file', mode: e.type === 'directory' ? 0o755 : 0o644}, e.body ?? '')
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

t.before(async () => {
  mkdirSync(hostDir, {recursive: true})
  own(hostDir)
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'box', 'busybox', 'sleep', '1000']), 0)
})
t.teardown(async () => {
  await tspod(t, store, ['rm', '-af', '-t', '0'])
})

t.test('exec', async t => {
  const hi = await tspod(t, store, ['exec', 'box', 'sh', '-c', 'echo hi; echo err >&2; exit 7'])
  expectExit(t, hi, 7)
  t.equal(hi.stdout, 'hi')
  t.equal(hi.stderr, 'err', 'the command\'s stderr passes through untouched')
  expectExit(t, await tspod(t, store, ['exec', 'box', 'nosuchcmd']), 127,
    /^Error: (crun|runc): .*executable file .*nosuchcmd.* not found in \$PATH.*: OCI runtime attempted to invoke a command that was not found$/m)
  expectExit(t, await tspod(t, store, ['exec', 'box', '/etc']), 126, /: OCI permission denied$/m)
  const input = await tspod(t, store, ['exec', '-i', 'box', 'cat'], {input: 'piped\n'})
  expectExit(t, input, 0)
  t.equal(input.stdout, 'piped', '-i passes stdin')
  const opts = await tspod(t, store, ['exec', '-e', 'FOO=bar', '-w', '/tmp', '-u', 'nobody', 'box', 'sh', '-c', 'echo $FOO $PWD $(id -un) $HOME'])
  expectExit(t, opts, 0)
  t.equal(opts.stdout, 'bar /tmp nobody /nonexistent', '-e, -w and -u (a name from the image\'s /etc/passwd)')
  expectExit(t, await tspod(t, store, ['exec', '-u', 'nosuchuser', 'box', 'true']), 125, /unable to find user nosuchuser: no matching entries in passwd file/)
  // Without -u an exec runs as the container's own user, as in Podman (the runtime alone would make it root).
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'as-nobody', '--user', '65534:65534', 'busybox', 'sleep', '1000']), 0)
  t.equal((await tspod(t, store, ['exec', 'as-nobody', 'id', '-u'])).stdout, '65534', 'exec takes the container\'s --user')
  t.equal((await tspod(t, store, ['exec', '-u', '0', 'as-nobody', 'id', '-u'])).stdout, '0', '-u still chooses')
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'keep-id', '--userns', 'keep-id', 'busybox', 'sleep', '1000']), 0)
  t.equal((await tspod(t, store, ['exec', 'keep-id', 'id', '-u'])).stdout, String(user.uid), 'and a keep-id container\'s user')
  expectExit(t, await tspod(t, store, ['rm', '-f', '-t', '0', 'as-nobody', 'keep-id']), 0)
  expectExit(t, await tspod(t, store, ['exec', '-d', 'box', 'sleep', '999']), 0)
  t.match((await tspod(t, store, ['top', 'box', 'args'])).stdout, /sleep 999/, '-d leaves the process running')
  expectExit(t, await tspod(t, store, ['exec', 'box']), 125, /^Error: must provide a non-empty command to start an exec session: invalid argument$/m)
  expectExit(t, await tspod(t, store, ['exec', 'nosuchctr', 'true']), 125, /^Error: no container with name or ID "nosuchctr" found: no such container$/m)
  expectExit(t, await tspod(t, store, ['create', '--name', 'idle', 'busybox', 'true']), 0)
  expectExit(t, await tspod(t, store, ['exec', 'idle', 'true']), 125, /^Error: can only create exec sessions on running containers: container state improper$/m)
  expectExit(t, await tspod(t, store, ['exec', '-t', 'box', 'true']), 125, /the input device is not a TTY/)

  const tty = await runAsUser(['python3', ptyRun, '24', '80', '', '', '--', ...cli, 'exec', '-t', 'box', 'sh', '-c', 'tty; exit 5'], {env})
  t.equal(tty.code, 5, 'exec -t: the exit code comes back', {stdout: tty.stdout, stderr: tty.stderr})
  t.match(tty.stdout, /\/dev\/pts\/\d+/, 'exec -t: the command has a terminal')
  const it = await runAsUser(['python3', ptyRun, '24', '80', 'echo typed-$((6*7)); exit 3\\n', '', '--', ...cli, 'exec', '-it', 'box', 'sh'], {env})
  t.equal(it.code, 3, 'exec -it: input reaches the shell', {stdout: it.stdout})
  t.match(it.stdout, /typed-42/)
})

t.test('attach', async t => {
  // Prints until it reads a line, then exits with it: attach sees output, types, gets the code.
  const loop = 'while ! read -t 1 x; do echo tick; done; exit $x'
  expectExit(t, await tspod(t, store, ['run', '-d', '-it', '--name', 'talk', 'busybox', 'sh', '-c', loop]), 0)
  const detach = await runAsUser(['python3', ptyRun, '24', '80', '\\x10\\x11', 'tick', '--', ...cli, 'attach', 'talk'], {env})
  t.equal(detach.code, 0, 'ctrl-p ctrl-q detaches with 0', {stdout: detach.stdout, stderr: detach.stderr})
  t.equal((await tspod(t, store, ['inspect', '--format', '{{.State.Status}}', 'talk'])).stdout, 'running', 'and leaves it running')
  const exit = await runAsUser(['python3', ptyRun, '24', '80', '3\\n', 'tick', '--', ...cli, 'attach', 'talk'], {env})
  t.equal(exit.code, 3, 'the container\'s exit code when it exits while attached', {stdout: exit.stdout, stderr: exit.stderr})
  expectExit(t, await tspod(t, store, ['attach', 'idle']), 125, /^Error: you can only attach to running containers$/m)
})

t.test('top', async t => {
  const top = await tspod(t, store, ['top', 'box'])
  expectExit(t, top, 0)
  const [header, first] = top.stdout.split('\n')
  t.match(header, /^USER\s+PID\s+PPID\s+%CPU\s+ELAPSED\s+TTY\s+TIME\s+COMMAND$/)
  t.match(first, /^root\s+1\s+0\s+\d+\.\d{3}\s+\S+\s+\?\s+\S+\s+sleep 1000$/, 'PID 1 as the container sees it')
  const some = await tspod(t, store, ['top', 'box', 'pid,comm', 'uid'])
  t.match(some.stdout, /^PID\s+COMMAND\s+UID\n1\s+sleep\s+0\n/)
  expectExit(t, await tspod(t, store, ['top', 'box', 'bogus']), 125, /^Error: 'bogus': unknown descriptor$/m)
  expectExit(t, await tspod(t, store, ['top', 'idle']), 125, /^Error: top can only be used on running containers: container state improper$/m)
})

t.test('pause and unpause', async t => {
  const paused = await tspod(t, store, ['pause', 'box'])
  if (detectCgroups().version === 'v1') {
    expectExit(t, paused, 125, /^Error: cannot pause container box: it has no cgroup whose freezer could stop it \(cgroup v1/m)
    t.match(paused.stderr, /cgroup v2 with controllers delegated/, 'the hint says what would make it work')
  } else if (paused.code === 0) {
    t.equal((await tspod(t, store, ['inspect', '--format', '{{.State.Status}}', 'box'])).stdout, 'paused')
    expectExit(t, await tspod(t, store, ['unpause', 'box']), 0)
  }
  expectExit(t, await tspod(t, store, ['unpause', 'box']), 125, /^Error: "box" is not paused, can't unpause: container state improper$/m)
  expectExit(t, await tspod(t, store, ['pause', 'idle']), 125, /^Error: "idle" is not running, can't pause: container state improper$/m)
})

t.test('cp out of a container follows symlinks inside it, never to the host', async t => {
  // The busybox image's /etc/passwd, which the host's is not.
  const containerPasswd = (await tspod(t, store, ['exec', 'box', 'cat', '/etc/passwd'])).stdout
  t.not(containerPasswd, readFileSync('/etc/passwd', 'utf8').trimEnd())
  expectExit(t, await tspod(t, store, ['exec', 'box', 'sh', '-c',
    'ln -s /etc/passwd /tmp/abs && ln -s ../../../../etc/passwd /tmp/rel && mkdir -p /tmp/dir/sub && echo deep > /tmp/dir/sub/f && ln -s /etc/passwd /tmp/dir/link']), 0)
  expectExit(t, await sh(`${T} cp box:/tmp/abs abs && ${T} cp box:/tmp/rel rel && ${T} cp box:/tmp/dir dir && ${T} cp box:/tmp/dir/. dir2`), 0)
  t.equal(readFileSync(join(hostDir, 'abs'), 'utf8').trimEnd(), containerPasswd, 'an absolute symlink means the container\'s file')
  t.equal(readFileSync(join(hostDir, 'rel'), 'utf8').trimEnd(), containerPasswd, 'a relative one cannot climb out of the container')
  t.equal(readFileSync(join(hostDir, 'dir', 'sub', 'f'), 'utf8'), 'deep\n')
  t.equal(readFileSync(join(hostDir, 'dir2', 'sub', 'f'), 'utf8'), 'deep\n', 'dir/. copies the contents')
  const ls = await sh('stat -c "%U %N" dir/sub/f dir/link')
  t.match(ls.stdout, new RegExp(`^${user.name} 'dir/sub/f'\\n${user.name} 'dir/link' -> '/etc/passwd'$`), 'files out belong to the user; links stay links')
  expectExit(t, await sh(`${T} cp box:/nonexistent x`), 125, /^Error: "\/nonexistent" could not be found on container box: no such file or directory$/m)
  const tarOut = await sh(`${T} cp box:/tmp/dir - | tar -tvf -`)
  expectExit(t, tarOut, 0)
  t.match(tarOut.stdout, /dir\/sub\/f/, 'cp CTR:PATH - writes a tar to stdout')
})

t.test('cp into a container stays inside it', async t => {
  writeFileSync(join(hostDir, 'in.txt'), 'from the host\n')
  own(join(hostDir, 'in.txt'))
  expectExit(t, await tspod(t, store, ['exec', 'box', 'sh', '-c', 'ln -s /etc /tmp/etclink && ln -s ../../../../../.. /tmp/up']), 0)
  expectExit(t, await sh(`${T} cp in.txt box:/tmp/etclink/ && ${T} cp in.txt box:/tmp/up/escaped.txt && ${T} cp in.txt box:/tmp/copy.txt`), 0)
  const seen = await tspod(t, store, ['exec', 'box', 'sh', '-c', 'cat /etc/in.txt /escaped.txt; stat -c %u /tmp/copy.txt'])
  t.equal(seen.stdout, 'from the host\nfrom the host\n0', 'through symlinked directories, inside the container; owned by its user')
  t.notOk(existsSync('/etc/in.txt'), 'nothing written to the host\'s /etc')
  t.notOk(existsSync('/escaped.txt'), 'nothing written to the host\'s /')
  expectExit(t, await sh(`${T} cp in.txt box:/nonexistent/x`), 125, /^Error: "\/nonexistent" could not be found on container box: no such file or directory$/m)
  expectExit(t, await sh(`${T} cp . box:/tmp/copy.txt`), 125, /^Error: destination must be a directory when copying a directory$/m)
  expectExit(t, await sh(`${T} cp in.txt other.txt`), 125, /one of them must name a container/)

  const tar = await tarOf([{name: 'fromtar/a', body: 'A', uid: 1234}, {name: 'fromtar/b', body: 'B', uid: 1234}])
  expectExit(t, await sh(`${T} cp - box:/tmp`, tar), 0)
  expectExit(t, await sh(`${T} cp --archive=false - box:/tmp/etclink`, tar), 0)
  const owners = await tspod(t, store, ['exec', 'box', 'sh', '-c', 'cat /tmp/fromtar/a; stat -c %u /tmp/fromtar/b /etc/fromtar/b'])
  t.equal(owners.stdout, 'A0\n1234', 'a tar on stdin: the container\'s user owns it, or with --archive=false the tar\'s ids')
  const evil = await tarOf([{name: '../../../../../evil.txt', body: 'x'}])
  expectExit(t, await sh(`${T} cp - box:/tmp`, evil), 125, /path escapes the target directory/)
  t.notOk(existsSync(join(store.root, 'evil.txt')) || existsSync('/evil.txt'), 'a hostile tar writes nothing outside')
  expectExit(t, await sh(`${T} cp - box:/tmp/copy.txt`, tar), 125, /^Error: destination must be a directory when copying from stdin$/m)

  expectExit(t, await tspod(t, store, ['exec', 'box', 'mkdir', '-p', '/tmp/clash/in.txt']), 0)
  expectExit(t, await sh(`${T} cp in.txt box:/tmp/clash`), 125, /^Error: cannot overwrite directory "\/tmp\/clash\/in.txt" with non-directory$/m)
  expectExit(t, await sh(`${T} cp --overwrite in.txt box:/tmp/clash`), 0)

  // A stopped container's rootfs is mounted for the copy and unmounted after.
  expectExit(t, await sh(`${T} cp in.txt idle:/in.txt && ${T} cp idle:/in.txt back.txt`), 0)
  t.equal(readFileSync(join(hostDir, 'back.txt'), 'utf8'), 'from the host\n')
})

t.test('diff', async t => {
  expectExit(t, await tspod(t, store, ['run', '--name', 'changed', 'busybox', 'sh', '-c', 'touch /newfile && rm /etc/group && mkdir /var/x']), 0)
  const diff = await tspod(t, store, ['diff', 'changed'])
  expectExit(t, diff, 0)
  t.equal(diff.stdout, ['C /etc', 'D /etc/group', 'A /newfile', 'C /var', 'A /var/x'].join('\n'), 'sorted, mount points of the runtime left out')
  const json = await tspod(t, store, ['diff', '--format', 'json', 'changed'])
  t.same(JSON.parse(json.stdout), {changed: ['/etc', '/var'], added: ['/newfile', '/var/x'], deleted: ['/etc/group']})
  expectExit(t, await tspod(t, store, ['diff', '--format', 'table', 'changed']), 125, /the only valid format for diff is json/)
  t.match((await tspod(t, store, ['diff', 'busybox'])).stdout, /^A \/bin\nA \/bin\/arch\n/, 'an image: its top layer')
})

t.test('export', async t => {
  expectExit(t, await sh(`${T} export -o box.tar box && tar -tf box.tar > list.txt`), 0)
  const list = readFileSync(join(hostDir, 'list.txt'), 'utf8').split('\n')
  t.ok(list.includes('bin/busybox') && list.includes('etc/passwd'), 'the tar lists the rootfs')
  t.ok(list.includes('tmp/copy.txt'), 'with the container\'s changes')
  const piped = await sh(`${T} export changed | tar -t | grep -c newfile`)
  t.equal(piped.stdout, '1', 'to stdout, from a stopped container')
  const terminal = await runAsUser(['python3', ptyRun, '24', '80', '', '', '--', ...cli, 'export', 'box'], {env})
  t.equal(terminal.code, 125, 'a terminal is refused')
  t.match(terminal.stdout, /refusing to export to terminal\. Use -o flag or redirect/)
})

t.test('commit', async t => {
  expectExit(t, await tspod(t, store, ['exec', 'box', 'sh', '-c', 'echo kept > /committed.txt && rm /etc/group']), 0)
  const commit = await tspod(t, store, ['commit', '-m', 'a message', '--author', 'tester', '-c', 'LABEL via=commit', 'box', 'snapshot'])
  expectExit(t, commit, 0)
  t.match(commit.stdout, /^[a-f0-9]{64}$/, 'prints the image ID')
  t.match(commit.stderr, /^Getting image source signatures\n(Copying blob [a-f0-9]{12} .*\n)+Copying config [a-f0-9]{12} done\nWriting manifest to image destination$/, 'progress on stderr')
  const run = await tspod(t, store, ['run', '--rm', 'snapshot', 'sh', '-c', 'cat /committed.txt; ls /etc/group 2>&1; cat /tmp/copy.txt'])
  t.equal(run.stdout, 'kept\nls: /etc/group: No such file or directory\nfrom the host', 'the new image has the container\'s changes, deletions included')
  const inspect = await tspod(t, store, ['image', 'inspect', '--format', '{{.Config.Labels.via}} {{.Author}} {{.Config.Cmd}}', 'snapshot'])
  t.equal(inspect.stdout, 'commit tester [sleep 1000]')
  t.match((await tspod(t, store, ['history', 'snapshot'])).stdout, /a message/)
  const quiet = await tspod(t, store, ['commit', '-q', '-p', 'box'])
  expectExit(t, quiet, 0)
  t.match(quiet.stdout, /^[a-f0-9]{64}$/, '-q prints only the ID')
  if (detectCgroups().version === 'v1') t.match(quiet.stderr, /cannot pause box .*: committing it while it runs/, '-p warns that it cannot pause here')
  const squashed = await tspod(t, store, ['commit', '--squash', '--format', 'docker', '-q', 'changed', 'flat'])
  expectExit(t, squashed, 0)
  t.equal((await tspod(t, store, ['image', 'inspect', '--format', '{{len .RootFS.Layers}}', 'flat'])).stdout, '1', '--squash: one layer')
  expectExit(t, await tspod(t, store, ['commit', 'nosuchctr']), 125, /no such container/)
})

t.test('mount and unmount', async t => {
  expectExit(t, await tspod(t, store, ['mount', 'idle']), 125, /^Error: cannot run command "tspod mount" in rootless mode, must execute `tspod unshare` first$/m)
  // Each call is its own `tspod unshare`: the mounts live in tspod's namespace, not in one shell.
  const unshared = (...args: string[]) => runAsUser([...cli, 'unshare', ...cli, ...args], {env})
  const id = (await tspod(t, store, ['inspect', '--format', '{{.Id}}', 'idle'])).stdout
  const mounted = await unshared('mount', 'idle')
  expectExit(t, mounted, 0)
  t.match(mounted.stdout, new RegExp(`/containers/${id}/merged$`), 'prints the mount point')
  const seen = await runAsUser([...cli, 'unshare', 'cat', `${mounted.stdout}/in.txt`], {env})
  t.equal(seen.stdout, 'from the host', 'the container\'s files are there')
  t.match((await unshared('mount', '--no-trunc')).stdout, new RegExp(`^${id}  \\S+/merged$`, 'm'), 'mount lists ID  PATH')
  t.match((await unshared('mount')).stdout, new RegExp(`^${id.slice(0, 12)}  `, 'm'), 'with short IDs by default')
  const unmounted = await unshared('unmount', 'idle')
  expectExit(t, unmounted, 0)
  t.equal(unmounted.stdout, id)
  t.notMatch((await unshared('mount')).stdout, id.slice(0, 12), 'gone from the list')
  const running = await tspod(t, store, ['umount', 'box'])
  expectExit(t, running, 0)
  t.match(running.stderr, /container box is running: its root file system is in use/)
})
