/**
 * Drives the real build/tspod-monitor through the real build/tspod-ns as the
 * unprivileged test user, the way `tspod run` does: startMonitor() with the
 * namespace helper in front (behind runuser when the tests run as root),
 * then attach(), start(), and the exit file. Most tests use the fake runtime
 * (test/fixtures/fake-runtime.sh), whose scenario comes from the bundle's
 * config.json; the last ones use crun and runc with a busybox rootfs.
 */
import t, {type Test} from 'tap'
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createConnection} from 'node:net'
import {PassThrough, Readable, Writable} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'
import {computeIdMappings, readSubIds} from '../../src/rootless/ns-helper.js'
import {
  MonitorError,
  attach,
  readExitFile,
  resize,
  sendSignal,
  startMonitor,
  type AttachResult,
  type MonitorStartOptions,
} from '../../src/runtime/monitor-client.js'
import {fixture, makeStore, repoRoot, requireUser, runAsUser, type Store} from './harness.js'

const monitorBin = join(repoRoot, 'build', 'tspod-monitor')
const nsHelper = join(repoRoot, 'build', 'tspod-ns')
const fakeRuntime = join(repoRoot, 'test', 'fixtures', 'fake-runtime.sh')
const LOGIN_PATH = '/usr/local/bin:/usr/bin:/bin'
const K8S_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d (stdout|stderr) [FP] /

const user = requireUser()
ensureBuilt()

/** Builds the C programs when a source under src/monitor is newer than the monitor. */
function ensureBuilt(): void {
  const built = statSync(monitorBin, {throwIfNoEntry: false})
  const sources = join(repoRoot, 'src', 'monitor')
  if (built && readdirSync(sources).every(name => statSync(join(sources, name)).mtimeMs <= built.mtimeMs)) return
  const build = spawnSync('bash', [join(repoRoot, 'scripts', 'build-c.sh')], {encoding: 'utf8'})
  if (build.status !== 0) throw new Error(`bash scripts/build-c.sh failed: ${build.stderr.trim() || build.error?.message}`)
}

const mappings = computeIdMappings(
  user.uid,
  user.gid,
  readSubIds('/etc/subuid', {name: user.name, uid: user.uid}),
  readSubIds('/etc/subgid', {name: user.name, uid: user.uid}),
)

/** What the CLI puts in front of the monitor, as the test user. */
function nsPrefix(store: Store): string[] {
  const ns = [nsHelper, '--runroot', store.runroot, '--uidmap', mappings.uidmap, '--gidmap', mappings.gidmap, '--']
  if (!user.switched) return ns
  const env = [`HOME=${user.home}`, `USER=${user.name}`, `PATH=${LOGIN_PATH}`, `XDG_RUNTIME_DIR=${user.runtimeDir}`]
  return ['runuser', '-u', user.name, '--', 'env', '-i', ...env, ...ns]
}

function own(path: string): void {
  if (user.switched) chownSync(path, user.uid, user.gid)
}

function makeDir(path: string): string {
  mkdirSync(path, {recursive: true})
  own(path)
  return path
}

function writeOwned(path: string, text: string): void {
  writeFileSync(path, text)
  own(path)
}

interface Container {
  store: Store
  dir: string
  bundle: string
  sock: string
  attachPath: string
  exitFile: string
  log: string
  rt: string
  cid: string
  options(extra?: Partial<MonitorStartOptions>): MonitorStartOptions
}

/** A container directory in a fresh store; config is written as the bundle's config.json. */
function prepare(t: Test, config: object): Container {
  const store = makeStore(t)
  const dir = makeDir(join(store.dir, 'c'))
  const bundle = makeDir(join(dir, 'bundle'))
  const sock = makeDir(join(dir, 's'))
  const rt = makeDir(join(dir, 'rt'))
  writeOwned(join(bundle, 'config.json'), JSON.stringify(config, null, 2))
  const cid = randomBytes(32).toString('hex')
  const c: Container = {
    store,
    dir,
    bundle,
    sock,
    attachPath: join(sock, 'attach'),
    exitFile: join(dir, 'exit'),
    log: join(dir, 'ctr.log'),
    rt,
    cid,
    options: extra => ({
      nsPrefix: nsPrefix(store),
      monitorPath: monitorBin,
      cid,
      name: t.name.slice(0, 30),
      runtime: fakeRuntime,
      runtimeRoot: rt,
      bundle,
      socketDir: sock,
      exitFile: c.exitFile,
      pidFile: join(dir, 'pid'),
      logPath: c.log,
      ...extra,
    }),
  }
  return c
}

function fakeConfig(script: string, annotations: Record<string, string> = {}): object {
  return {ociVersion: '1.0.2', process: {args: ['/bin/sh', '-c', script], cwd: '/'}, annotations}
}

interface Output {
  stdout: string
  stderr: string
  result: Promise<AttachResult>
  exits: number[]
}

function attachCollecting(path: string, extra: {stdin?: Readable; onConnect?: Parameters<typeof attach>[1]['onConnect']} = {}): Output {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: Output = {stdout: '', stderr: '', exits: [], result: Promise.resolve({exitCode: undefined})}
  stdout.on('data', chunk => (out.stdout += chunk))
  stderr.on('data', chunk => (out.stderr += chunk))
  out.result = attach(path, {stdout, stderr, onExit: code => out.exits.push(code), ...extra})
  return out
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** Alive and not a zombie (PID 1 here may reap orphans late). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

function statusField(pid: number, field: string): string | undefined {
  const match = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match?.[1]?.trim()
}

function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3])
}

/** Kills what a failed test left running, so that the store can be removed. */
function reapOnTeardown(t: Test, ...pids: number[]): void {
  t.teardown(() => {
    for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGKILL')
  })
}

function logMessages(path: string): Array<{stream: string; tag: string; text: string}> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(line => line !== '')
    .map(line => {
      const [, stream, tag, ...rest] = line.split(' ')
      return {stream: stream!, tag: tag!, text: rest.join(' ')}
    })
}

t.test('unknown options fail at once with one line and status 125', async t => {
  const result = await runAsUser([monitorBin, '--cid', 'x', '--x'])
  t.equal(result.code, 125)
  t.equal(result.stderr, 'Error: tspod-monitor: unknown option --x')
  const relative = await runAsUser([monitorBin, '--bundle', 'rel/dir'])
  t.equal(relative.stderr, 'Error: tspod-monitor: --bundle rel/dir: must be an absolute path')
})

t.test('output reaches the log and an attach client; the exit code the exit file and the exit frame', async t => {
  const c = prepare(t, fakeConfig('echo hello; echo oops >&2; printf partial; sleep 0.1; echo " done"; exit 3'))
  const handle = await startMonitor(c.options())
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  t.ok(handle.monitorPid > 0 && handle.pid > 0, `monitor ${handle.monitorPid}, container ${handle.pid}`)
  const first = attachCollecting(c.attachPath)
  const second = attachCollecting(c.attachPath)
  await handle.start()
  t.same(await first.result, {exitCode: 3})
  t.same(await second.result, {exitCode: 3}, 'every attached client gets everything')
  t.equal(first.stdout, 'hello\npartial done\n')
  t.equal(first.stderr, 'oops\n')
  t.same(first.exits, [3])
  t.equal(second.stdout, first.stdout)

  const exit = readExitFile(c.exitFile)
  t.equal(exit?.exitCode, 3)
  t.ok(exit && Math.abs(exit.finishedAt.getTime() - Date.now()) < 60_000, 'finishedAt is now')
  t.match(readFileSync(c.exitFile, 'utf8'), /^3 \d{19}\n$/)

  const lines = readFileSync(c.log, 'utf8').split('\n').filter(Boolean)
  for (const line of lines) t.match(line, K8S_LINE, 'k8s-file line')
  t.same(
    logMessages(c.log).sort((a, b) => a.stream.localeCompare(b.stream)),
    [
      {stream: 'stderr', tag: 'F', text: 'oops'},
      {stream: 'stdout', tag: 'F', text: 'hello'},
      {stream: 'stdout', tag: 'P', text: 'partial'},
      {stream: 'stdout', tag: 'F', text: ' done'},
    ].sort((a, b) => a.stream.localeCompare(b.stream)),
  )
  t.notOk(existsSync(c.attachPath), 'the attach socket is removed')
  t.notOk(existsSync(join(c.rt, c.cid)), 'runtime delete ran')
  await waitFor('the monitor to exit', () => !isRunning(handle.monitorPid))
})

t.test('no descriptor leaks into the container: it has exactly 0, 1 and 2', async t => {
  const c = prepare(t, fakeConfig('ls -l /proc/self/fd'))
  const handle = await startMonitor(c.options({stdin: true}))
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath)
  await handle.start()
  t.same(await out.result, {exitCode: 0})
  const fds = out.stdout
    .split('\n')
    .map(line => / (\d+) -> (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !/^\/proc\/\d+\/fd$/.test(m[2]!))
    .map(m => `${m[1]} ${m[2]!.replace(/\d+/, 'N')}`)
  t.same(fds, ['0 pipe:[N]', '1 pipe:[N]', '2 pipe:[N]'], out.stdout)
})

t.test('stdin through attach reaches the container, and its end closes the pipe', async t => {
  const c = prepare(t, fakeConfig('read -r first; echo "got:$first"; cat; echo end'))
  const handle = await startMonitor(c.options({stdin: true}))
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath, {stdin: Readable.from([Buffer.from('first\n'), Buffer.from('second\n')])})
  await handle.start()
  t.same(await out.result, {exitCode: 0})
  t.equal(out.stdout, 'got:first\nsecond\nend\n')
})

t.test('without --stdin the container reads /dev/null', async t => {
  const c = prepare(t, fakeConfig('cat; echo "eof at once"'))
  const handle = await startMonitor(c.options())
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath, {stdin: Readable.from([Buffer.from('ignored\n')])})
  await handle.start()
  t.same(await out.result, {exitCode: 0})
  t.equal(out.stdout, 'eof at once\n')
})

t.test('signal frames reach the container: SIGTERM ignored as asked, SIGUSR1 trapped', async t => {
  const script = 'trap "echo usr1; exit 7" USR1; echo ready; while :; do sleep 0.05; done'
  const c = prepare(t, fakeConfig(script, {'tspod.test/ignore-sigterm': 'true'}))
  const handle = await startMonitor(c.options())
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath)
  await handle.start()
  await waitFor('ready', () => out.stdout.includes('ready'))
  await sendSignal(c.attachPath, 15)
  await sleep(300)
  t.ok(isRunning(handle.pid), 'SIGTERM was ignored')
  t.same(out.exits, [])
  await sendSignal(c.attachPath, 10)
  t.same(await out.result, {exitCode: 7})
  t.equal(out.stdout, 'ready\nusr1\n')
  await t.rejects(sendSignal(c.attachPath, 9), {message: /connect ENOENT/}, 'after cleanup the socket is gone')
})

t.test('a create failure is reported in the runtime own words, stage create', async t => {
  const c = prepare(t, fakeConfig('true', {'tspod.test/create-error': 'executable file `nope` not found in $PATH'}))
  const err = await startMonitor(c.options()).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(err, MonitorError)
  const failure = err as MonitorError
  t.equal(failure.message, 'create: executable file `nope` not found in $PATH')
  t.equal(failure.stage, 'create')
  t.equal(failure.runtimeExitCode, 1)
  t.equal(failure.exitCode, 127)
  t.same(readdirSync(c.sock), [], 'the attach socket is removed, nothing left behind')
  t.notOk(existsSync(c.exitFile))
})

t.test('a start failure rejects start(); the container is deleted', async t => {
  const c = prepare(t, fakeConfig('echo never', {'tspod.test/start-error': 'start refused: no reason'}))
  const handle = await startMonitor(c.options())
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  await t.rejects(handle.start(), {message: 'start: start refused: no reason', stage: 'start'})
  await handle.abort()
  // abort() resolves at the sync pipe's EOF, which the kernel delivers a moment before the exit completes.
  await waitFor('the monitor to exit', () => !isRunning(handle.monitorPid), 1000)
  t.notOk(existsSync(join(c.rt, c.cid)), 'runtime delete ran')
  t.notOk(isRunning(handle.pid))
})

t.test('abort (EOF on the start pipe) deletes the container and cleans up', async t => {
  const c = prepare(t, fakeConfig('echo never'))
  const handle = await startMonitor(c.options())
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  t.ok(existsSync(c.attachPath), 'the attach socket exists before start')
  t.ok(isRunning(handle.pid), 'the created container waits')
  await handle.abort()
  await waitFor('the monitor to exit', () => !isRunning(handle.monitorPid), 1000)
  await waitFor('the container to die', () => !isRunning(handle.pid))
  t.notOk(existsSync(join(c.rt, c.cid)), 'runtime delete ran')
  t.same(readdirSync(c.sock), [])
  t.notOk(existsSync(c.exitFile))
})

t.test('--rm-dir removes the directories without following symlinks; the exit command runs last', async t => {
  const c = prepare(t, fakeConfig('exit 0'))
  const doomed = makeDir(join(c.dir, 'doomed'))
  makeDir(join(doomed, 'a'))
  makeDir(join(doomed, 'a', 'b'))
  writeOwned(join(doomed, 'a', 'b', 'file'), 'x')
  const outside = makeDir(join(c.dir, 'outside'))
  writeOwned(join(outside, 'keep'), 'kept')
  symlinkSync(outside, join(doomed, 'a', 'link-to-dir'))
  symlinkSync(join(outside, 'keep'), join(doomed, 'link-to-file'))
  const marker = join(c.dir, 'exit-command-ran')
  const handle = await startMonitor(
    c.options({
      rmDirs: [doomed, join(c.dir, 'absent')],
      exitCommand: ['/bin/sh', '-c', 'ls -l /proc/self/fd >"$0.tmp"; echo "$@" >>"$0.tmp"; mv "$0.tmp" "$0"', marker, 'one', 'two'],
    }),
  )
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath)
  await handle.start()
  t.same(await out.result, {exitCode: 0})
  t.notOk(existsSync(doomed), 'removed by the time the connection closes')
  t.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'kept', 'a symlink target outside survives')
  t.notOk(existsSync(join(c.sock, 'monitor.err')), 'no failure noted')
  await waitFor('the exit command', () => existsSync(marker))
  const lines = readFileSync(marker, 'utf8').trim().split('\n')
  t.equal(lines.at(-1), 'one two')
  const fds = lines
    .map(line => / (\d+) -> (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !/^\/proc\/\d+\/fd$/.test(m[2]!))
    .map(m => `${m[1]} ${m[2]}`)
  t.same(fds, ['0 /dev/null', `1 ${marker}.tmp`, '2 /dev/null'], 'the exit command gets /dev/null and nothing else')
})

t.test('the log rotates at --log-max-size, keeping one previous file', async t => {
  const c = prepare(t, fakeConfig('i=1; while [ $i -le 40 ]; do echo "line $i"; i=$((i+1)); done'))
  const handle = await startMonitor(c.options({logMaxSize: 300}))
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath)
  await handle.start()
  t.same(await out.result, {exitCode: 0})
  const current = readFileSync(c.log, 'utf8')
  const previous = readFileSync(`${c.log}.1`, 'utf8')
  t.ok(current.length <= 300 && current.length > 0, `${c.log}: ${current.length} bytes`)
  t.ok(previous.length <= 300 && previous.length > 200, `${c.log}.1: ${previous.length} bytes`)
  const texts = [...logMessages(`${c.log}.1`), ...logMessages(c.log)].map(m => m.text)
  t.equal(texts.at(-1), 'line 40')
  const first = Number(texts[0]!.split(' ')[1])
  t.same(texts, Array.from({length: 41 - first}, (_, i) => `line ${first + i}`), 'the two files hold the latest lines in order')
})

t.test('the monitor survives the CLI exiting: it is nobody else child', async t => {
  const c = prepare(t, fakeConfig('sleep 1; echo late; exit 5'))
  const cli = join(c.store.dir, 'cli.mjs')
  writeFileSync(
    cli,
    `const {startMonitor} = await import(${JSON.stringify(join(repoRoot, 'src/runtime/monitor-client.js'))})
const handle = await startMonitor(JSON.parse(process.env.MONITOR_OPTIONS))
await handle.start()
process.stdout.write(JSON.stringify({monitorPid: handle.monitorPid, pid: handle.pid}))
process.exit(0)
`,
  )
  const child = spawn(process.execPath, [...process.execArgv, cli], {
    env: {...process.env, MONITOR_OPTIONS: JSON.stringify(c.options())},
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let stdout = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  t.equal(code, 0, 'the CLI exited')
  const {monitorPid, pid} = JSON.parse(stdout) as {monitorPid: number; pid: number}
  reapOnTeardown(t, monitorPid, pid)
  t.ok(isRunning(monitorPid), 'the monitor still runs')
  t.ok(isRunning(pid), 'the container still runs')
  t.not(Number(statusField(monitorPid, 'PPid')), child.pid, 'the monitor is not the CLI child')
  // The intermediate process made the session; the monitor is in it but not its leader, so it never gets a terminal.
  t.not(sessionOf(monitorPid), sessionOf(process.pid), 'the monitor left the CLI session')
  t.not(sessionOf(monitorPid), monitorPid)
  t.equal(readFileSync(`/proc/${monitorPid}/comm`, 'utf8').trim(), 'tspod-monitor')
  await waitFor('the exit file', () => existsSync(c.exitFile))
  t.equal(readExitFile(c.exitFile)?.exitCode, 5)
  t.match(readFileSync(c.log, 'utf8'), / stdout F late\n/)
})

t.test('RSS of the monitor stays under 1 MiB while a container runs', async t => {
  const c = prepare(t, fakeConfig('echo up; while :; do sleep 1; done'))
  const handle = await startMonitor(c.options())
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath)
  await handle.start()
  await waitFor('output', () => out.stdout === 'up\n')
  const rss = Number(statusField(handle.monitorPid, 'VmRSS')?.replace(/ kB$/, ''))
  t.comment(`tspod-monitor VmRSS: ${rss} kB (RssAnon ${statusField(handle.monitorPid, 'RssAnon')}, RssFile ${statusField(handle.monitorPid, 'RssFile')})`)
  const linkage = spawnSync('file', ['-L', monitorBin], {encoding: 'utf8'}).stdout
  t.ok(rss < 1024, `VmRSS ${rss} kB < 1024 kB`, {
    hint: /statically linked/.test(linkage) ? undefined : 'build/tspod-monitor is dynamically linked: link it with -static (glibc alone maps about 1 MiB)',
  })
  // SIGTERM to the monitor itself is passed on to the container, as conmon does.
  process.kill(handle.monitorPid, 'SIGTERM')
  t.same(await out.result, {exitCode: 143}, 'killed by SIGTERM: 128 + 15')
})

t.test('a stalled client never blocks the container; a flow-controlled one makes it wait and loses nothing', async t => {
  const size = 3_000_000
  const c = prepare(t, fakeConfig(`head -c ${size} /dev/zero | tr '\\0' x; echo; echo done`))
  const handle = await startMonitor(c.options())
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  // Never reads: its queue passes 1 MiB and the monitor drops it.
  const stalled = createConnection(c.attachPath)
  stalled.pause()
  t.teardown(() => stalled.destroy())
  const fast = attachCollecting(c.attachPath)
  let slowBytes = 0
  const slowOut = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, done) {
      slowBytes += chunk.length
      setTimeout(done, 1)
    },
  })
  const slow = attach(c.attachPath, {stdout: slowOut, stderr: new PassThrough(), flowControl: true})
  await handle.start()
  t.same(await fast.result, {exitCode: 0})
  t.equal(fast.stdout.length, size + 6, 'the reading client got everything')
  t.same(await slow, {exitCode: 0})
  t.equal(slowBytes, size + 6, 'the slow flow-controlled client got everything')
  t.ok(stalled.readableLength + (stalled.bytesRead ?? 0) < size, 'the stalled client was dropped, not waited for')
})

// The real runtimes, inside tspod's namespace, with busybox as the rootfs.

async function inNamespace(store: Store, argv: string[], cwd?: string): Promise<void> {
  const result = await runAsUser([nsHelper, '--runroot', store.runroot, '--uidmap', mappings.uidmap, '--gidmap', mappings.gidmap, '--', ...argv], {cwd})
  if (result.code !== 0) throw new Error(`${argv.join(' ')}: exit ${result.code}: ${result.stderr}`)
}

/** A bundle generated by `crun spec --rootless`, adjusted: we are inside a user namespace already. */
async function realBundle(t: Test, args: string[], adjust: (config: Record<string, any>) => void = () => {}): Promise<Container> {
  const c = prepare(t, {})
  const rootfs = makeDir(join(c.dir, 'rootfs'))
  await inNamespace(c.store, ['tar', '-xf', fixture('busybox-rootfs.tar'), '-C', rootfs])
  await inNamespace(c.store, ['sh', '-c', 'rm -f config.json && crun spec --rootless'], c.bundle)
  const config = JSON.parse(readFileSync(join(c.bundle, 'config.json'), 'utf8')) as Record<string, any>
  config.linux.namespaces = config.linux.namespaces.filter((ns: {type: string}) => ns.type !== 'user')
  delete config.linux.uidMappings
  delete config.linux.gidMappings
  config.process.terminal = false
  config.process.args = args
  config.root = {path: rootfs, readonly: false}
  adjust(config)
  writeOwned(join(c.bundle, 'config.json'), JSON.stringify(config, null, 2))
  return c
}

function runtimePath(name: string): string | undefined {
  return ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'].map(dir => join(dir, name)).find(path => existsSync(path))
}

for (const runtime of ['crun', 'runc']) {
  t.test(`${runtime}: output, log and exit code of a real container`, async t => {
    const path = runtimePath(runtime)
    if (path === undefined) throw new Error(`${runtime} is not installed: run \`npm run setup\` as root`)
    const c = await realBundle(t, ['/bin/sh', '-c', 'echo hello; echo oops >&2; exit 3'])
    const handle = await startMonitor(c.options({runtime: path}))
    reapOnTeardown(t, handle.monitorPid, handle.pid)
    const out = attachCollecting(c.attachPath)
    await handle.start()
    t.same(await out.result, {exitCode: 3})
    t.equal(out.stdout, 'hello\n')
    t.equal(out.stderr, 'oops\n')
    t.equal(readExitFile(c.exitFile)?.exitCode, 3)
    t.same(
      logMessages(c.log).map(m => `${m.stream} ${m.tag} ${m.text}`).sort(),
      ['stderr F oops', 'stdout F hello'],
    )
    t.notOk(existsSync(join(c.rt, c.cid)), `${runtime} delete removed its state`)
  })

  t.test(`${runtime}: -t gives the container a pty, relayed and resized through attach`, async t => {
    const path = runtimePath(runtime)
    if (path === undefined) throw new Error(`${runtime} is not installed: run \`npm run setup\` as root`)
    const c = await realBundle(t, ['/bin/sh', '-c', 'tty; sleep 0.5; stty size'], config => {
      config.process.terminal = true
    })
    const handle = await startMonitor(c.options({runtime: path, terminal: true}))
    reapOnTeardown(t, handle.monitorPid, handle.pid)
    const out = attachCollecting(c.attachPath, {onConnect: conn => void resize(conn, 33, 101)})
    await handle.start()
    t.same(await out.result, {exitCode: 0})
    t.equal(out.stdout, '/dev/pts/0\r\n33 101\r\n')
    t.equal(out.stderr, '', 'a terminal has only one stream')
    t.match(readFileSync(c.log, 'utf8'), / stdout F \/dev\/pts\/0\r\n/)
    t.same(readdirSync(c.sock), [], 'attach and console sockets are removed')
  })
}

for (const runtime of ['crun', 'runc']) {
  t.test(`${runtime}: --runtime-start-fifo starts crun through its exec.fifo, and leaves runc to runc start`, async t => {
    const path = runtimePath(runtime)
    if (path === undefined) throw new Error(`${runtime} is not installed: run \`npm run setup\` as root`)
    const c = await realBundle(t, ['/bin/sh', '-c', 'echo up; sleep 0.5; exit 4'])
    // The runtime through a wrapper that records each verb it is called with.
    const calls = join(c.dir, 'calls')
    const wrapper = join(c.dir, 'runtime')
    writeOwned(calls, '')
    writeOwned(wrapper, `#!/bin/sh\nfor a; do case $a in create|start|delete) echo $a >>${calls};; esac; done\nexec ${path} "$@"\n`)
    chmodSync(wrapper, 0o755)
    const handle = await startMonitor(c.options({runtime: wrapper, runtimeStartFifo: true}))
    reapOnTeardown(t, handle.monitorPid, handle.pid)
    t.ok(existsSync(join(c.rt, c.cid, 'exec.fifo')), 'created: the init waits at exec.fifo')
    const out = attachCollecting(c.attachPath)
    await handle.start()
    t.notOk(existsSync(join(c.rt, c.cid, 'exec.fifo')), 'started: exec.fifo is gone, so the runtime reports the container running')
    if (runtime === 'crun') {
      const state = await runAsUser([nsHelper, '--runroot', c.store.runroot, '--uidmap', mappings.uidmap, '--gidmap', mappings.gidmap, '--', path, '--root', c.rt, 'state', c.cid])
      t.match(state.stdout, /"status": "running"/, 'crun state agrees')
    }
    t.same(await out.result, {exitCode: 4})
    t.equal(out.stdout, 'up\n')
    t.same(readFileSync(calls, 'utf8').trim().split('\n'), runtime === 'crun' ? ['create', 'delete'] : ['create', 'start', 'delete'], 'runtime start runs only for runc')
  })
}

t.test('crun: -t -i feeds attach input to the pty', async t => {
  const path = runtimePath('crun')
  if (path === undefined) throw new Error('crun is not installed: run `npm run setup` as root')
  const c = await realBundle(t, ['/bin/sh'], config => {
    config.process.terminal = true
  })
  const handle = await startMonitor(c.options({runtime: path, terminal: true, stdin: true}))
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath, {stdin: Readable.from([Buffer.from('echo $((6 * 7))\n'), Buffer.from('exit 4\n')])})
  await handle.start()
  t.same(await out.result, {exitCode: 4})
  t.match(out.stdout, /\r\n42\r\n/, 'the shell read the line from its terminal')
})

for (const runtime of ['crun', 'runc']) {
  t.test(`${runtime}: a missing executable is reported in the runtime's words, as 127`, async t => {
    const path = runtimePath(runtime)
    if (path === undefined) throw new Error(`${runtime} is not installed: run \`npm run setup\` as root`)
    const c = await realBundle(t, ['/no/such/program'])
    // crun finds out at create, runc at start: either way the CLI sees one MonitorError.
    const err = await startMonitor(c.options({runtime: path})).then(
      async handle => {
        reapOnTeardown(t, handle.monitorPid, handle.pid)
        const failure = await handle.start().then(
          () => undefined,
          (e: unknown) => e,
        )
        await handle.abort()
        return failure
      },
      (e: unknown) => e,
    )
    t.type(err, MonitorError)
    t.comment(`${runtime}: ${(err as Error).message}`)
    t.match((err as MonitorError).message, /^(create|start): .*\/no\/such\/program/)
    t.equal((err as MonitorError).exitCode, 127)
    t.notOk(existsSync(c.exitFile))
  })
}

t.test('crun: the overlay rootfs is mounted for the container and unmounted after; slirp4netns gives it tap0', async t => {
  const path = runtimePath('crun')
  if (path === undefined) throw new Error('crun is not installed: run `npm run setup` as root')
  const slirp = runtimePath('slirp4netns')
  if (slirp === undefined) throw new Error('slirp4netns is not installed: run `npm run setup` as root')
  const c = await realBundle(t, ['/bin/sh', '-c', 'echo written >/new-file; cat /new-file; ip link show tap0'])
  const upper = makeDir(join(c.dir, 'upper'))
  const work = makeDir(join(c.dir, 'work'))
  const merged = makeDir(join(c.dir, 'merged'))
  const config = JSON.parse(readFileSync(join(c.bundle, 'config.json'), 'utf8')) as Record<string, any>
  config.root.path = merged
  writeOwned(join(c.bundle, 'config.json'), JSON.stringify(config, null, 2))
  const handle = await startMonitor(
    c.options({
      runtime: path,
      mountOverlay: `lowerdir=${join(c.dir, 'rootfs')},upperdir=${upper},workdir=${work},userxattr`,
      mountTarget: merged,
      slirp4netns: slirp,
    }),
  )
  reapOnTeardown(t, handle.monitorPid, handle.pid)
  const out = attachCollecting(c.attachPath)
  await handle.start()
  t.same(await out.result, {exitCode: 0}, out.stderr)
  t.match(out.stdout, /^written\n\d+: tap0: .* mtu 65520 /)
  t.equal(readFileSync(join(upper, 'new-file'), 'utf8'), 'written\n', 'the write went to the upper layer')
  const pause = await runAsUser([nsHelper, '--runroot', c.store.runroot, '--print-pid'])
  const mounts = readFileSync(`/proc/${pause.stdout.trim()}/mountinfo`, 'utf8')
  t.notOk(mounts.includes(` ${merged} `), 'the rootfs is unmounted')
  t.same(readdirSync(c.sock), [], 'slirp4netns log and sockets removed')
})
