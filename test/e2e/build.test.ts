// `tspod build`, rootless, through the real runtime and monitor: every
// instruction, the cache, failures and interrupts that leave nothing behind,
// reproducible digests, and hostile build contexts.
import t, {type Test} from 'tap'
import {chownSync, cpSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {execa} from 'execa'
import {createServer} from 'node:http'
import {createHash} from 'node:crypto'
import {expectExit, fixture, makeStore, requireUser, runAsUser, tspod, tspodBin, type RunResult} from './harness.js'
import {startRegistry, writeRegistriesConf} from './registry-harness.js'

const user = requireUser()
const store = makeStore(t)

function own(path: string): void {
  if (!user.switched) return
  chownSync(path, user.uid, user.gid)
  try {
    for (const name of readdirSync(path)) {
      const child = join(path, name)
      try {
        chownSync(child, user.uid, user.gid)
      } catch {
        continue
      }
      own(child)
    }
  } catch {
    // not a directory
  }
}

/** A build context under the store's directory: files by relative path (symlinks as {link}). */
function context(name: string, files: Record<string, string | {link: string}>): string {
  const dir = join(store.dir, 'ctx', name)
  mkdirSync(dir, {recursive: true})
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel)
    mkdirSync(dirname(path), {recursive: true})
    if (typeof content === 'string') writeFileSync(path, content)
    else symlinkSync(content.link, path)
  }
  if (user.switched) {
    chownSync(join(store.dir, 'ctx'), user.uid, user.gid)
    own(dir)
  }
  return dir
}

function build(args: string[], opts: {cwd?: string; env?: Record<string, string>; input?: string | Buffer} = {}): Promise<RunResult> {
  return tspod(t, store, ['build', ...args], {timeoutMs: 300_000, ...opts})
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? ''
}

async function inspect(ref: string, format: string): Promise<string> {
  const result = await tspod(t, store, ['image', 'inspect', ref, '--format', format])
  return result.stdout.trim()
}

async function noLeftovers(t: Test): Promise<void> {
  const ps = await tspod(t, store, ['ps', '-a', '-q'])
  expectExit(t, ps, 0)
  t.equal(ps.stdout.trim(), '', 'no container is left behind')
  const check = await tspod(t, store, ['system', 'check'])
  expectExit(t, check, 0)
  const mounts = await tspod(t, store, ['unshare', 'cat', '/proc/self/mountinfo'])
  t.notMatch(mounts.stdout, store.root, 'no mount of the store is left behind')
  t.same(readdirSync(join(store.root, 'tmp')), [], 'no staging directory is left behind')
}

t.before(async () => {
  expectExit(t, await tspod(t, store, ['import', fixture('busybox-rootfs.tar'), 'busybox']), 0)
})

t.test('every instruction, with podman build\'s output, config and history', async t => {
  const dir = context('all', {
    'a.txt': 'hello\n',
    'sub/b.txt': 'b\n',
    Dockerfile: [
      'FROM busybox',
      'ARG FOO=bar',
      'ENV X=1 Y="two words"',
      'LABEL a=b',
      'RUN echo hi $FOO > /hi.txt',
      'COPY a.txt /app/',
      'COPY sub /app/sub',
      'ADD a.txt /app/added',
      'WORKDIR /app/work',
      'RUN pwd > /pwd.txt',
      'USER 1000',
      'EXPOSE 80/tcp 53/udp 8080',
      'VOLUME /data',
      'ENTRYPOINT ["sh"]',
      'CMD ["-c", "cat /hi.txt /app/a.txt /app/sub/b.txt /app/added /pwd.txt; id -u"]',
      'STOPSIGNAL SIGINT',
      'MAINTAINER me',
      'RUN ["echo", "exec"]',
      '',
    ].join('\n'),
  })
  const result = await build(['-t', 'all', dir])
  expectExit(t, result, 0)
  const lines = result.stdout.trim().split('\n')
  t.equal(lines[0], 'STEP 1/18: FROM busybox')
  t.ok(lines.includes('STEP 5/18: RUN echo hi $FOO > /hi.txt'))
  t.ok(lines.includes('exec'), 'RUN output reaches stdout')
  t.ok(lines.includes('COMMIT all'))
  t.ok(lines.includes('Successfully tagged localhost/all:latest'))
  const id = lastLine(result.stdout)
  t.match(id, /^[0-9a-f]{64}$/)
  t.match(lines.filter(l => l.startsWith('--> ')).length, 17, 'each step but the last reports its image')

  const config = JSON.parse(await inspect('all', '{{json .Config}}')) as Record<string, unknown>
  t.same(config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'X=1', 'Y=two words'])
  t.same(config.Labels, {a: 'b'})
  t.equal(config.WorkingDir, '/app/work')
  t.equal(config.User, '1000')
  t.same(config.ExposedPorts, {'80/tcp': {}, '53/udp': {}, '8080/tcp': {}})
  t.same(config.Volumes, {'/data': {}})
  t.same(config.Entrypoint, ['sh'])
  t.equal(config.StopSignal, 'SIGINT')
  t.equal(await inspect('all', '{{.Author}}'), 'me')

  const history = JSON.parse(await inspect('all', '{{json .History}}')) as Array<Record<string, unknown>>
  const createdBy = history.map(h => h.created_by)
  t.ok(createdBy.includes('/bin/sh -c #(nop) ARG FOO'), 'ARG shows its name only')
  t.ok(createdBy.includes('/bin/sh -c #(nop) ENV X=1 Y="two words"'))
  t.ok(createdBy.includes('|1 FOO=bar /bin/sh -c echo hi $FOO > /hi.txt'), 'RUN shows the build arguments it saw')
  t.ok(createdBy.includes('|1 FOO=bar /bin/sh -c ["echo", "exec"]'))
  t.ok(createdBy.some(c => /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/app\/ $/.test(String(c))))
  t.ok(createdBy.some(c => /^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/app\/sub $/.test(String(c))))
  t.ok(history.filter(h => h.created_by === '/bin/sh -c #(nop) LABEL a=b').every(h => h.empty_layer === true), 'metadata steps add no layer')
  t.equal(history.filter(h => !h.empty_layer).length, Number(await inspect('all', '{{len .RootFS.Layers}}')), 'one history entry per layer')
  t.equal(Number(await inspect('all', '{{len .RootFS.Layers}}')), 7, 'the base, 3 RUN and 3 COPY/ADD layers')

  const run = await tspod(t, store, ['run', '--rm', 'all'])
  expectExit(t, run, 0)
  t.equal(run.stdout, 'hi bar\nhello\nb\nhello\n/app/work\n1000')
})

t.test('docker format keeps HEALTHCHECK, SHELL and ONBUILD; triggers run in the child build', async t => {
  const parent = context('onbuild', {
    Dockerfile: 'FROM busybox\nSHELL ["/bin/sh", "-ec"]\nHEALTHCHECK --interval=5s --retries=2 CMD true\nONBUILD RUN echo triggered > /trigger\n',
  })
  expectExit(t, await build(['--format', 'docker', '-t', 'parent', parent]), 0)
  const config = JSON.parse(await inspect('parent', '{{json .Config}}')) as Record<string, unknown>
  t.same(config.OnBuild, ['RUN echo triggered > /trigger'])
  t.same((config.Healthcheck as Record<string, unknown>).Test, ['CMD-SHELL', 'true'])
  t.equal((config.Healthcheck as Record<string, unknown>).Interval, 5e9)
  const oci = await build(['-t', 'parent-oci', parent])
  expectExit(t, oci, 0, /HEALTHCHECK is not supported for OCI image format/)
  const child = context('onbuild-child', {Dockerfile: 'FROM parent\nRUN cat /trigger\n'})
  const result = await build(['--format', 'docker', '-t', 'child', child])
  expectExit(t, result, 0)
  t.match(result.stdout, /triggered/)
  t.notOk((JSON.parse(await inspect('child', '{{json .Config}}')) as Record<string, unknown>).OnBuild, 'triggers are not inherited further')
})

t.test('COPY and ADD flags, .dockerignore, heredocs and RUN mounts', async t => {
  const dir = context('copy', {
    'src/one.txt': 'one\n',
    'src/two.log': 'two\n',
    'src/sub/s.txt': 's\n',
    'secret.txt': 'topsecret\n',
    'ignored.txt': 'no\n',
    '.dockerignore': 'ignored.txt\n',
    Dockerfile: [
      'FROM busybox',
      'COPY --chown=1000:1000 --chmod=0640 src/one.txt /o/',
      'COPY src/*.txt /glob/',
      'COPY --exclude=*.log src /ex/',
      'COPY --parents src/sub/s.txt /par/',
      'COPY . /all/',
      'COPY <<EOF /here.txt',
      'hello heredoc',
      'EOF',
      'RUN --mount=type=bind,source=src,target=/mnt cat /mnt/one.txt > /bound',
      'RUN --mount=type=cache,target=/cache echo x >> /cache/c',
      'RUN --mount=type=bind,target=/ctx,rw touch /ctx/new && test -f /ctx/secret.txt && ! test -e /ctx/ignored.txt',
      'RUN --mount=type=secret,id=sec cat /run/secrets/sec > /gotsecret',
      'RUN --mount=type=tmpfs,target=/tt touch /tt/x',
      'RUN --network=none ls /sys/class/net > /nets',
      'CMD ls -ln /o; ls /glob /ex /par/src/sub; ls -a /all; cat /here.txt /bound /gotsecret /nets; ls /tt | wc -l',
      '',
    ].join('\n'),
  })
  const result = await build(['-t', 'copy', '--secret', `id=sec,src=${join(dir, 'secret.txt')}`, dir])
  expectExit(t, result, 0)
  const run = await tspod(t, store, ['run', '--rm', 'copy'])
  expectExit(t, run, 0)
  t.match(run.stdout, /-rw-r-----\s+1 1000\s+1000\s+4 Jan  1  1970 one.txt/, '--chown, --chmod, and the clamped mtime')
  t.match(run.stdout, /\/glob:\none.txt\n/, 'wildcards')
  t.match(run.stdout, /\/ex:\none.txt\nsub\n/, '--exclude')
  t.match(run.stdout, /\/par\/src\/sub:\ns.txt/, '--parents')
  t.notMatch(run.stdout, /ignored.txt/, '.dockerignore')
  t.match(run.stdout, /hello heredoc\none\ntopsecret\nlo\n0$/, 'heredoc, bind, secret, network none, tmpfs left out of the image')
  t.notOk(readdirSync(dir).includes('new'), 'writes to a rw bind mount of the context are thrown away')
  const history = await inspect('copy', '{{json .History}}')
  t.notMatch(history, /topsecret/, 'the secret is not in the history')
})

t.test('ADD unpacks local archives and checks URL checksums', async t => {
  const dir = context('add', {'inner/in.txt': 'in\n'})
  expectExit(t, await runAsUser(['tar', '-czf', join(dir, 'a.tar.gz'), '-C', join(dir, 'inner'), '.']), 0)
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nADD a.tar.gz /x/\nCOPY a.tar.gz /y/\nRUN cat /x/in.txt && test -f /y/a.tar.gz\n')
  own(dir)
  expectExit(t, await build([dir]), 0)
})

t.test('the cache: a changed file rebuilds its step and those after it only', async t => {
  const dir = context('cache', {
    'a.txt': 'a\n',
    'b.txt': 'b\n',
    'ignored.txt': '1\n',
    '.dockerignore': 'ignored.txt\n',
    Dockerfile: 'FROM busybox\nCOPY a.txt /\nRUN cat /a.txt > /a2\nCOPY b.txt /\nRUN cat /b.txt > /b2\nCOPY . /ctx/\n',
  })
  const first = await build(['-t', 'cached', dir])
  expectExit(t, first, 0)
  t.notMatch(first.stdout, /Using cache/)
  const again = await build(['-t', 'cached', dir])
  expectExit(t, again, 0)
  t.equal((again.stdout.match(/--> Using cache/g) ?? []).length, 5, 'every step hits')
  t.equal(lastLine(again.stdout), lastLine(first.stdout))

  writeFileSync(join(dir, 'ignored.txt'), '2\n')
  const ignored = await build([dir])
  t.equal((ignored.stdout.match(/--> Using cache/g) ?? []).length, 5, 'an ignored file changes nothing')

  writeFileSync(join(dir, 'b.txt'), 'changed\n')
  const changed = await build(['-t', 'cached', dir])
  expectExit(t, changed, 0)
  const steps = changed.stdout.split(/\nSTEP /).slice(1)
  t.match(steps[0], /^2\/6: COPY a.txt \/\n--> Using cache/, 'the step before the change hits')
  t.match(steps[1], /^3\/6: RUN .*\n--> Using cache/)
  t.notMatch(steps[2], /Using cache/, 'the changed file misses')
  t.notMatch(steps[3], /Using cache/, 'the steps after it rebuild')
  t.notMatch(steps[4], /Using cache/)
  const run = await tspod(t, store, ['run', '--rm', 'cached', 'cat', '/b2'])
  t.equal(run.stdout, 'changed')

  const noCache = await build(['--no-cache', dir])
  expectExit(t, noCache, 0)
  t.notMatch(noCache.stdout, /Using cache/, '--no-cache')
  t.equal(lastLine(noCache.stdout), lastLine(changed.stdout), 'and gives the same image')
  // RUN steps run again; a COPY whose inputs (every byte it reads, its parent) are the same takes its identical layer.
  for (const step of noCache.stdout.split(/\nSTEP /).slice(1)) {
    if (/^\d+\/\d+: COPY /.test(step)) t.match(step, /\n--> Same inputs as [0-9a-f]{12}: its identical layer is reused/, `reused: ${step.split('\n')[0]}`)
    else t.notMatch(step, /Same inputs/, `run again: ${step.split('\n')[0]}`)
  }
})

t.test('reproducible: the same image from another directory, without the cache, and with --verify', async t => {
  const files = {'f.txt': 'data\n', Dockerfile: 'FROM busybox\nCOPY f.txt /\nRUN echo built > /r && chmod 600 /r\nENV A=b\n'}
  const one = context('repro1', files)
  const first = await build(['-q', one])
  expectExit(t, first, 0)
  const two = join(store.dir, 'ctx', 'repro2')
  cpSync(one, two, {recursive: true})
  utimesSync(join(two, 'f.txt'), new Date(), new Date())
  own(two)
  const second = await build(['-q', '--no-cache', two])
  expectExit(t, second, 0)
  t.equal(second.stdout.trim(), first.stdout.trim(), 'same digest from another directory, rebuilt')
  t.match(first.stdout.trim(), /^[0-9a-f]{64}$/, '-q prints only the ID')
  const verify = await build(['--verify', one])
  expectExit(t, verify, 0)
  t.match(verify.stdout, /Verified: both builds gave/)
  t.match(await inspect(first.stdout.trim(), '{{.Created}}'), /^1970-01-01T00:00:00(\.000)?Z$/, 'created at the fixed epoch')
  const epoch = await build(['-q', one], {env: {SOURCE_DATE_EPOCH: '1700000000'}})
  expectExit(t, epoch, 0)
  t.not(epoch.stdout.trim(), first.stdout.trim(), 'SOURCE_DATE_EPOCH changes the creation time')
  t.match(await inspect(epoch.stdout.trim(), '{{.Created}}'), /^2023-11-14T22:13:20/)
  const stamped = await build(['-q', '--timestamp', '1700000000', one])
  expectExit(t, stamped, 0)
  const listing = await tspod(t, store, ['run', '--rm', stamped.stdout.trim(), 'ls', '-l', '--full-time', '/f.txt'])
  t.match(listing.stdout, /2023-11-14 22:13:20/, '--timestamp sets file times')
})

t.test('a failing RUN names the step and leaves nothing behind', async t => {
  const dir = context('fail', {Dockerfile: 'FROM busybox AS builder\nCOPY Dockerfile /\nRUN echo before; exit 3\nRUN echo never\n'})
  const result = await build([dir])
  expectExit(t, result, 3, /^Error: building at STEP "RUN echo before; exit 3" \(stage builder, step 3\/4, Dockerfile:3\): the command exited with status 3$/m)
  t.match(result.stdout, /before/)
  await noLeftovers(t)
})

t.test('an interrupted build leaves nothing behind', async t => {
  const dir = context('interrupt', {Dockerfile: 'FROM busybox\nRUN sleep 60\n'})
  const argv = [tspodBin, '--root', store.root, '--runroot', store.runroot, 'build', dir]
  const env = {XDG_CONFIG_HOME: store.configHome}
  const login = [`XDG_CONFIG_HOME=${store.configHome}`, `XDG_RUNTIME_DIR=${user.runtimeDir}`, `HOME=${user.home}`, 'PATH=/usr/local/bin:/usr/bin:/bin']
  const command = user.switched ? ['runuser', '-u', user.name, '--', 'env', '-i', ...login, ...argv] : argv
  const child = execa(command[0]!, command.slice(1), {reject: false, env: user.switched ? undefined : env})
  for (let i = 0; i < 100; i++) {
    const ps = await tspod(t, store, ['ps', '-q'])
    if (ps.stdout.trim() !== '') break
    await sleep(200)
  }
  // The CLI the user started (the oldest node process of this build), not runuser, which would take the test down with it.
  const node = await execa('pgrep', ['-f', '-o', `^\\S*node \\S*/dist/main\\.cjs --root ${store.root} .*build`], {reject: false})
  const pid = node.stdout.trim()
  if (!t.match(pid, /^\d+$/, 'the build process is found')) {
    child.kill('SIGKILL')
    return
  }
  process.kill(Number(pid), 'SIGTERM')
  const done = await child
  t.equal(done.exitCode, 143, 'exits 128 + SIGTERM')
  await noLeftovers(t)
})

t.test('hostile contexts: symlinks and .. never lead out of the context or the image', async t => {
  const dir = context('hostile', {
    'ok.txt': 'ok\n',
    link: {link: '/etc'},
    'd/evil': {link: '/etc/shadow'},
    'd/rel': {link: '../../../../../../../etc/passwd'},
    'Dockerfile.link': 'FROM busybox\nCOPY link/passwd /x\n',
    'Dockerfile.dots': 'FROM busybox\nCOPY ../../../../etc/passwd /p\n',
    'Dockerfile.dir': 'FROM busybox\nCOPY d /d\nRUN test -L /d/evil && test -L /d/rel && ! test -s /d/evil\n',
    'Dockerfile.dest': `FROM busybox\nRUN mkdir /t && ln -s ${join(store.dir, 'victim')} /t/out\nCOPY ok.txt /t/out/\nRUN cat ${join(store.dir, 'victim')}/ok.txt\n`,
  })
  mkdirSync(join(store.dir, 'victim'))
  own(join(store.dir, 'victim'))
  expectExit(t, await build(['-f', 'Dockerfile.link', dir], {cwd: dir}), 125, /link\/passwd: no such file or directory in the build context/)
  expectExit(t, await build(['-f', 'Dockerfile.dots', dir], {cwd: dir}), 125, /no such file or directory in the build context/)
  expectExit(t, await build(['-f', 'Dockerfile.dir', dir], {cwd: dir}), 0)
  expectExit(t, await build(['-f', 'Dockerfile.dest', dir], {cwd: dir}), 0)
  t.same(readdirSync(join(store.dir, 'victim')), [], 'a symlink in the image does not lead to the host')
})

t.test('independent stages build at the same time', async t => {
  const dir = context('parallel', {
    Dockerfile: [
      'FROM busybox AS left',
      'RUN sleep 3 && echo left > /left',
      'FROM busybox AS right',
      'RUN sleep 3 && echo right > /right',
      'FROM busybox',
      'COPY --from=left /left /',
      'COPY --from=right /right /',
      'CMD cat /left /right',
      '',
    ].join('\n'),
  })
  const started = Date.now()
  const r = await build(['--no-cache', '-t', 'parallel', dir])
  const seconds = (Date.now() - started) / 1000
  expectExit(t, r, 0)
  t.ok(seconds < 5.5, `two 3-second stages took ${seconds.toFixed(1)} s in all, not 6`)
  const run = await tspod(t, store, ['run', '--rm', 'parallel'])
  t.equal(run.stdout, 'left\nright')
})

t.test('--dry-run prints the plan, as text or JSON, and builds nothing', async t => {
  const dir = context('dryrun', {
    Dockerfile: 'ARG BASE=busybox\nFROM ${BASE} AS base\nRUN <<EOF\necho hi\nEOF\nFROM base\nCOPY --chmod=755 a /a\n',
    a: 'x',
  })
  const json = await build(['--dry-run', '--format', 'json', dir])
  expectExit(t, json, 0)
  const plan = JSON.parse(json.stdout) as {stages: Array<{name: string | null; baseExpanded: string; instructions: Array<{name: string; flags: unknown[]; args: string[]; heredocs: Array<{content: string}>; line: number}>}>}
  t.equal(plan.stages.length, 2)
  t.equal(plan.stages[0].baseExpanded, 'busybox', 'global ARGs expanded in FROM')
  const run = plan.stages[0].instructions.find(i => i.name === 'RUN')!
  t.equal(run.heredocs[0].content, 'echo hi\n', 'heredoc bodies are listed')
  t.equal(run.line, 3)
  const copy = plan.stages[1].instructions.find(i => i.name === 'COPY')!
  t.match(copy.flags, [{name: 'chmod', value: '755'}])
  const text = await build(['--dry-run', dir])
  expectExit(t, text, 0)
  t.match(text.stdout, /RUN/)
  expectExit(t, await build(['--format', 'json', dir]), 125, /--format json describes a plan: it needs --dry-run/)
  const images = await tspod(t, store, ['images', '--filter', 'dangling=true', '-q'])
  t.equal(images.stdout.includes('dryrun'), false)
})

t.test('multi-stage builds, --target, scratch and squashing', async t => {
  const dir = context('stages', {
    Dockerfile: [
      'FROM busybox AS one',
      'RUN echo one > /one',
      'FROM busybox AS unused',
      'RUN exit 1',
      'FROM one AS two',
      'RUN echo two > /two && rm /bin/rev',
      'FROM scratch',
      'COPY --from=two /one /two /',
      'COPY --from=busybox /bin/busybox /bin/',
      'CMD ["/bin/busybox", "cat", "/one", "/two"]',
      '',
    ].join('\n'),
  })
  const result = await build(['-t', 'stages', dir])
  expectExit(t, result, 0)
  t.match(result.stdout, /^\[1\/3\] STEP 1\/2: FROM busybox AS one$/m)
  t.match(result.stdout, /^\[3\/3\] COMMIT stages$/m)
  t.notMatch(result.stdout, /exit 1/, 'stages the target does not need are skipped')
  const run = await tspod(t, store, ['run', '--rm', 'stages'])
  t.equal(run.stdout, 'one\ntwo')
  const target = await build(['--target', 'two', '-t', 'two', dir])
  expectExit(t, target, 0)
  t.equal((await tspod(t, store, ['run', '--rm', 'two', 'cat', '/two'])).stdout, 'two')
  expectExit(t, await build(['-q', '--squash-all', '-t', 'flat', dir]), 0)
  t.equal(await inspect('flat', '{{len .RootFS.Layers}}'), '1')
  t.equal((await tspod(t, store, ['run', '--rm', 'flat'])).stdout, 'one\ntwo')
  expectExit(t, await build(['-q', '--squash', '--target', 'two', '-t', 'squashed', dir]), 0)
  t.equal(await inspect('squashed', '{{len .RootFS.Layers}}'), '2', 'the base layer and one for the build')
  t.equal((await tspod(t, store, ['run', '--rm', 'squashed', 'cat', '/one', '/two'])).stdout, 'one\ntwo')
  expectExit(t, await tspod(t, store, ['run', '--rm', 'squashed', 'test', '!', '-e', '/bin/rev']), 0, undefined)
  const size = async (ref: string) => Number(await inspect(ref, '{{.Size}}'))
  t.ok(await size('squashed') - await size('busybox') < 100_000, 'the squashed layer holds only what the build changed')
})

t.test('contexts from stdin, Dockerfiles from stdin, --iidfile, --label, --layers=false', async t => {
  const dir = context('stdin', {'x.txt': 'x\n', Dockerfile: 'FROM busybox\nCOPY x.txt /\n'})
  const tar = await execa('tar', ['-C', dir, '-c', '.'], {encoding: 'buffer'})
  const fromTar = await build(['-q', '-'], {input: tar.stdout})
  expectExit(t, fromTar, 0)
  const plain = await build(['-q', dir])
  t.equal(fromTar.stdout.trim(), plain.stdout.trim(), 'a tar context gives the same image')
  const fromFile = await build(['-q', '-f', '-', dir], {input: 'FROM busybox\nCOPY x.txt /y\n'})
  expectExit(t, fromFile, 0)
  const iid = join(store.dir, 'iid')
  expectExit(t, await build(['-q', '--iidfile', iid, '--label', 'k=v', dir]), 0)
  const label = await runAsUser(['cat', iid])
  t.match(label.stdout, /^sha256:[0-9a-f]{64}$/)
  t.equal(await inspect(label.stdout.replace('sha256:', ''), '{{index .Labels "k"}}'), 'v')
  const before = (await tspod(t, store, ['images', '-a', '-q'])).stdout.trim().split('\n').length
  const noLayers = context('nolayers', {Dockerfile: 'FROM busybox\nENV Q=1\nRUN touch /q\nENV R=2\n'})
  expectExit(t, await build(['-q', '--layers=false', noLayers]), 0)
  const after = (await tspod(t, store, ['images', '-a', '-q'])).stdout.trim().split('\n').length
  t.equal(after, before + 1, '--layers=false keeps only the result')
  expectExit(t, await build(['--platform', 'linux/s390x', dir]), 125, /only the host platform .* can be built/)
  const dry = await build(['--dry-run', dir])
  expectExit(t, dry, 0)
  t.match(dry.stdout, /stage 0: FROM busybox/)
})

t.test('the Debian fixture: RUN with users, USER and a shell pipeline', async t => {
  expectExit(t, await tspod(t, store, ['import', fixture('debian-bookworm-rootfs.tar'), 'debian']), 0)
  const dir = context('debian', {
    Dockerfile: [
      'FROM debian',
      'RUN useradd -m -u 1234 app && mkdir /srv/app && chown app:app /srv/app',
      'USER app',
      'WORKDIR /srv/app',
      'RUN id -un > who && dpkg-query -W -f \'${Package}\\n\' | grep -c . > packages',
      'COPY --chown=app:app Dockerfile ./',
      '',
    ].join('\n'),
  })
  const result = await build(['-t', 'debian-app', dir])
  expectExit(t, result, 0)
  const run = await tspod(t, store, ['run', '--rm', 'debian-app', 'sh', '-c', 'cat who; ls -ln Dockerfile; test "$(cat packages)" -gt 50 && echo many'])
  expectExit(t, run, 0)
  t.match(run.stdout, /^app\n-rw-r--r--\s+1 1234\s+1234 .* Dockerfile\nmany$/)
})

t.test('FROM pulls a missing base through the registry client; --pull=never refuses; ADD fetches URLs', async t => {
  const registry = await startRegistry(t)
  writeRegistriesConf(store, [registry.host])
  const remote = `${registry.host}/lib/base:1`
  expectExit(t, await tspod(t, store, ['tag', 'busybox', remote]), 0)
  expectExit(t, await tspod(t, store, ['push', remote]), 0)
  const fresh = makeStore(t)
  writeRegistriesConf(fresh, [registry.host])
  const dir = context('pull', {Dockerfile: `FROM ${remote}\nRUN echo pulled\n`})
  const never = await tspod(t, fresh, ['build', '--pull=never', dir])
  expectExit(t, never, 125, /image not known/)
  const pulled = await tspod(t, fresh, ['build', '-q', dir], {timeoutMs: 300_000})
  expectExit(t, pulled, 0)
  expectExit(t, await tspod(t, fresh, ['image', 'exists', remote]), 0)

  const body = 'served over http\n'
  const server = createServer((req, res) => {
    if (req.url === '/file.txt') res.end(body)
    else res.writeHead(404).end()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const port = (server.address() as {port: number}).port
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
  const good = context('url', {Dockerfile: `FROM busybox\nADD --checksum=${digest} http://127.0.0.1:${port}/file.txt /d/\nRUN cat /d/file.txt && stat -c %a /d/file.txt\n`})
  const added = await build([good])
  expectExit(t, added, 0)
  t.match(added.stdout, /served over http\n600\n/)
  const bad = context('url-bad', {Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/file.txt /d/\n`})
  expectExit(t, await build([bad]), 125, /checksum mismatch/)
  const copyUrl = context('url-copy', {Dockerfile: `FROM busybox\nCOPY http://127.0.0.1:${port}/file.txt /d/\n`})
  expectExit(t, await build([copyUrl]), 125, /only ADD takes URLs/)
})
