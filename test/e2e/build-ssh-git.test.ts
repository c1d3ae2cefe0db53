// `tspod build --ssh` with RUN --mount=type=ssh, and `ADD <git URL>`, rootless
// through the built CLI: an agent of the test user's and a key file reach the
// RUN (also as another user) and answer it, leave nothing in the image, and
// stop with the build; a git repository served by `git daemon` is added by
// branch, tag and subdirectory, with and without .git, and a new commit
// invalidates the step.
import t, {type Test} from 'tap'
import {spawn, type ChildProcess} from 'node:child_process'
import {chownSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {execa} from 'execa'
import {expectExit, fixture, makeStore, requireUser, runAsUser, tspod, type RunResult} from './harness.js'

const user = requireUser()
const store = makeStore(t)

/** A directory under the store's, owned by the test user, with files by relative path. */
function userDir(rel: string, files: Record<string, string> = {}): string {
  const dir = join(store.dir, rel)
  mkdirSync(dir, {recursive: true})
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), {recursive: true})
    writeFileSync(join(dir, name), content)
  }
  if (user.switched) {
    const own = (path: string): void => {
      chownSync(path, user.uid, user.gid)
      try {
        for (const name of readdirSync(path)) own(join(path, name))
      } catch {
        // a file
      }
    }
    own(dir)
  }
  return dir
}

function build(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return tspod(t, store, ['build', ...args], {timeoutMs: 300_000, env})
}

/** A long-running process as the test user (setpriv execs, so the pid is the process itself). */
function spawnAsUser(t: Test, argv: string[]): ChildProcess {
  const [file, ...args] = user.switched ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', ...argv] : argv
  const child = spawn(file!, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: user.home}})
  t.teardown(() => {
    child.kill()
  })
  return child
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => done(port))
    })
  })
}

// Asks the agent at $SSH_AUTH_SOCK for its identities (SSH_AGENTC_REQUEST_IDENTITIES)
// and prints their comments: proof that an agent, not just a socket, answers.
const AGENT_PL = `use strict; use IO::Socket::UNIX;
my $s = IO::Socket::UNIX->new(Peer => $ENV{SSH_AUTH_SOCK}) or die "connect $ENV{SSH_AUTH_SOCK}: $!\\n";
print $s pack("NC", 1, 11);
read($s, my $len, 4) == 4 or die "no answer\\n";
read($s, my $body, unpack("N", $len)) or die "short answer\\n";
my ($type, $count) = unpack("CN", $body);
die "answer of type $type\\n" unless $type == 12;
my ($at, @comments) = (5);
for (1 .. $count) {
  $at += 4 + unpack("N", substr($body, $at, 4));
  my $n = unpack("N", substr($body, $at, 4));
  push @comments, substr($body, $at + 4, $n);
  $at += 4 + $n;
}
print "agent answered: @comments\\n";
`

t.test('RUN --mount=type=ssh with --ssh', async t => {
  expectExit(t, await tspod(t, store, ['import', fixture('debian-bookworm-rootfs.tar'), 'debian']), 0)
  const keys = userDir('keys')
  const tmp = userDir('tmpd')
  expectExit(t, await runAsUser(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'e2e-agent-key', '-f', join(keys, 'agent')]), 0)
  expectExit(t, await runAsUser(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'e2e-file-key', '-f', join(keys, 'file')]), 0)
  const agentSocket = join(keys, 'agent.sock')
  const agent = spawnAsUser(t, ['ssh-agent', '-D', '-a', agentSocket])
  await new Promise(done => agent.stdout!.once('data', done))
  expectExit(t, await runAsUser(['ssh-add', '-q', join(keys, 'agent')], {env: {SSH_AUTH_SOCK: agentSocket}}), 0)

  const dir = userDir('ctx-ssh', {
    'agent.pl': AGENT_PL,
    Dockerfile: [
      'FROM debian',
      'RUN --mount=type=ssh --mount=type=bind,target=/ctx test -S "$SSH_AUTH_SOCK" && echo "default at $SSH_AUTH_SOCK" && perl /ctx/agent.pl',
      'USER nobody',
      'RUN --mount=type=ssh,id=deploy,target=/tmp/agent,uid=65534,mode=0600 --mount=type=bind,target=/ctx echo "deploy at $SSH_AUTH_SOCK as $(id -u)" && perl /ctx/agent.pl',
      '',
    ].join('\n'),
  })
  const env = {SSH_AUTH_SOCK: agentSocket, TMPDIR: tmp}
  const first = await build(['-t', 'ssh-one', '--ssh', 'default', '--ssh', `deploy=${join(keys, 'file')}`, dir], env)
  expectExit(t, first, 0)
  t.match(first.stdout, /default at \/run\/buildkit\/ssh_agent\.0\nagent answered: e2e-agent-key\n/, '--ssh default: the user\'s agent answers at the default target')
  t.match(first.stdout, /deploy at \/tmp\/agent as 65534\nagent answered: e2e-file-key\n/, '--ssh ID=KEYFILE: an agent holding the key answers a RUN as nobody')

  // The same steps with the agents swapped: the cache does not depend on them...
  const cached = await build(['-t', 'ssh-cached', '--ssh', `default=${join(keys, 'file')}`, '--ssh', `deploy=${agentSocket}`, dir], env)
  expectExit(t, cached, 0)
  t.equal(cached.stdout.match(/--> Using cache/g)?.length, 3, 'every step after FROM is cached')
  // ...and neither does the image.
  const swapped = await build(['--no-cache', '-t', 'ssh-two', '--ssh', `default=${join(keys, 'file')}`, '--ssh', `deploy=${agentSocket}`, dir], env)
  expectExit(t, swapped, 0)
  t.match(swapped.stdout, /default at \/run\/buildkit\/ssh_agent\.0\nagent answered: e2e-file-key\n/)
  t.match(swapped.stdout, /deploy at \/tmp\/agent as 65534\nagent answered: e2e-agent-key\n/, 'ID=SOCKET: that agent answers')
  t.equal(swapped.stdout.trim().split('\n').pop(), first.stdout.trim().split('\n').pop(), 'other agents, the same image ID: nothing of them is in the image')

  const inside = await tspod(t, store, ['run', '--rm', '--user', '0', 'ssh-one', 'sh', '-c', 'ls -A /run/buildkit /tmp; echo "env=${SSH_AUTH_SOCK:-none}"'])
  expectExit(t, inside, 0)
  t.equal(inside.stdout, '/run/buildkit:\n\n/tmp:\nenv=none', 'no socket and no SSH_AUTH_SOCK in the image')
  const history = await tspod(t, store, ['image', 'history', '--no-trunc', '--format', '{{.CreatedBy}}', 'ssh-one'])
  t.notMatch(history.stdout, /agent\.sock|tspod-ssh|keys\/file/, 'the history names no agent')

  t.same(readdirSync(tmp), [], 'the relays and the key agent are removed when the build ends')
  const left = await execa('pgrep', ['-f', `ssh-agent -D -a ${tmp}`], {reject: false})
  t.equal(left.stdout, '', 'the agent started for the key file is stopped')

  // A build killed with SIGKILL takes the agent holding the key with it.
  const slowDir = userDir('ctx-ssh-slow', {Dockerfile: 'FROM debian\nRUN --mount=type=ssh,id=deploy sleep 60\n'})
  const slowTmp = userDir('tmpd-slow')
  const slow = tspod(t, store, ['build', '--no-cache', '--ssh', `deploy=${join(keys, 'file')}`, slowDir], {timeoutMs: 120_000, env: {TMPDIR: slowTmp}})
  let agentPid = ''
  for (let i = 0; i < 200 && agentPid === ''; i++) {
    await sleep(100)
    agentPid = (await execa('pgrep', ['-f', `ssh-agent -D -a ${slowTmp}`], {reject: false})).stdout.trim()
  }
  t.not(agentPid, '', 'the build started an agent for the key')
  const cli = (await execa('pgrep', ['-f', `dist/main.cjs .*build --no-cache --ssh deploy=.* ${slowDir}`], {reject: false})).stdout.trim().split('\n').filter(Boolean)
  t.ok(cli.length > 0, 'the build\'s node process is found')
  for (const pid of cli) process.kill(Number(pid), 'SIGKILL')
  await slow
  let gone = false
  for (let i = 0; i < 50 && !gone; i++) {
    gone = (await execa('pgrep', ['-f', `ssh-agent -D -a ${slowTmp}`], {reject: false})).stdout.trim() === ''
    if (!gone) await sleep(100)
  }
  t.ok(gone, 'the agent ended with the killed build')
})

t.test('ssh: required without --ssh, optional without --ssh, no agent at all', async t => {
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
  const required = userDir('ctx-ssh-required', {Dockerfile: 'FROM busybox\nRUN --mount=type=ssh,id=gh,required=true true\n'})
  expectExit(t, await build([required]), 125, /Error: Dockerfile:2:1: ssh agent gh is required but the build was not given it\nPass it with --ssh gh=SOCKET or --ssh gh=KEYFILE/)
  const optional = userDir('ctx-ssh-optional', {Dockerfile: 'FROM busybox\nRUN --mount=type=ssh test ! -e /run/buildkit/ssh_agent.0 && test -z "$SSH_AUTH_SOCK"\n'})
  expectExit(t, await build([optional]), 0)
  expectExit(t, await build(['--ssh', 'default', optional]), 125, /Error: --ssh default: SSH_AUTH_SOCK is not set, so there is no agent to forward/)
  expectExit(t, await build(['--ssh', 'a b', optional]), 125, /--ssh a b: "a b" is not an id/)
})

t.test('ADD <git URL>', async t => {
  expectExit(t, await tspod(t, store, ['images', '-q', 'busybox']), 0)
  // The repositories belong to the test (root, when switched): the daemon only reads them.
  const served = join(store.dir, 'git')
  const work = join(served, 'work')
  mkdirSync(join(work, 'sub'), {recursive: true})
  const git = (...args: string[]) => execa('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', '-c', 'init.defaultBranch=main', ...args], {cwd: work})
  await git('init', '-q')
  writeFileSync(join(work, 'f.txt'), 'one\n')
  writeFileSync(join(work, 'sub', 's.txt'), 'sub\n')
  await git('add', '.')
  await git('commit', '-qm', 'one')
  await git('tag', '-a', 'v1', '-m', 'release 1')
  await execa('git', ['clone', '-q', '--bare', work, join(served, 'repo.git')])
  await git('remote', 'add', 'origin', join(served, 'repo.git'))
  const port = await freePort()
  const daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${served}`, '--listen=127.0.0.1', `--port=${port}`, served], {stdio: 'ignore'})
  t.teardown(() => {
    daemon.kill()
  })
  const url = `git://127.0.0.1:${port}/repo.git`
  for (let i = 0; i < 50 && (await execa('git', ['ls-remote', url], {reject: false})).exitCode !== 0; i++) await sleep(100)

  const dir = userDir('ctx-git', {
    Dockerfile: [
      'FROM busybox',
      `ADD ${url}#v1 /tag`,
      `ADD ${url}#main /branch`,
      `ADD --keep-git-dir=true ${url}#main /kept`,
      `ADD --chown=5:6 ${url}#v1:sub /sub`,
      '',
    ].join('\n'),
  })
  const first = await build(['-t', 'git-one', dir])
  expectExit(t, first, 0)
  const show = ['sh', '-c', 'cat /tag/f.txt /branch/f.txt; ls -A /tag /branch /sub; test -f /kept/.git/HEAD && echo kept .git; ls -n /sub/s.txt']
  const run = await tspod(t, store, ['run', '--rm', 'git-one', ...show])
  expectExit(t, run, 0)
  t.match(run.stdout, /^one\none\n\/branch:\nf\.txt\nsub\n\n\/sub:\ns\.txt\n\n\/tag:\nf\.txt\nsub\nkept \.git\n-rw-r--r-- +1 5 +6 +4 /, 'by tag, by branch, a subdirectory with --chown; .git only with --keep-git-dir')

  const again = await build(['-t', 'git-one', dir])
  expectExit(t, again, 0)
  t.equal(again.stdout.match(/--> Using cache/g)?.length, 4, 'the same commits: every ADD is cached')

  writeFileSync(join(work, 'f.txt'), 'two\n')
  await git('commit', '-qam', 'two')
  await git('push', '-q', 'origin', 'main')
  const moved = await build(['-t', 'git-two', dir])
  expectExit(t, moved, 0)
  t.match(moved.stdout, /STEP 2\/5: ADD [^\n]*#v1 \/tag\n--> Using cache/, 'the tag did not move: cached')
  t.match(moved.stdout, /STEP 3\/5: ADD [^\n]*#main \/branch\n(?!--> Using cache)/, 'a new commit on the branch: the step runs again')
  const after = await tspod(t, store, ['run', '--rm', 'git-two', 'cat', '/tag/f.txt', '/branch/f.txt'])
  t.equal(after.stdout, 'one\ntwo')

  const missing = userDir('ctx-git-missing', {Dockerfile: `FROM busybox\nADD ${url}#nope /x\n`})
  expectExit(t, await build([missing]), 125, /resolving git:\/\/[^\n]*#nope: the repository has no branch or tag nope/)
  const tagged = (await git('rev-parse', 'v1^{commit}')).stdout.trim()
  const checked = userDir('ctx-git-checksum', {Dockerfile: `FROM busybox\nADD --checksum=${tagged.slice(0, 12)} ${url}#v1 /x\n`})
  expectExit(t, await build([checked]), 0)
  const wrong = userDir('ctx-git-checksum-wrong', {Dockerfile: `FROM busybox\nADD --checksum=0123456789ab ${url}#v1 /x\n`})
  expectExit(t, await build([wrong]), 125, new RegExp(`Dockerfile:2:1: ${url}#v1: checksum mismatch: the ref is at commit ${tagged}, expected 0123456789ab`))
})
