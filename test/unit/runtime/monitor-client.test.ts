/**
 * monitor-client against stand-ins: a fake monitor (a shell script that
 * writes the sync messages a scenario asks for on fd 3 and reads fd 4) and a
 * fake attach socket (a net server speaking the frame protocol). The real
 * monitor is driven in test/e2e/monitor.test.ts.
 */
import t, {type Test} from 'tap'
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough, Readable} from 'node:stream'
import {RuntimeError} from '../../../src/errors/index.js'
import {
  FrameDecoder,
  FrameType,
  MonitorError,
  attach,
  encodeFrame,
  monitorArgs,
  parseSyncMessage,
  readExitFile,
  resize,
  sendSignal,
  startMonitor,
  type MonitorStartOptions,
} from '../../../src/runtime/monitor-client.js'

const dir = mkdtempSync(join(tmpdir(), 'tspod-monitor-client-'))
t.teardown(() => rmSync(dir, {recursive: true, force: true}))

// Writes the sync messages of $SCENARIO on fd 3, as the monitor would:
// each step is a JSON line, "WAIT" (read the start byte from fd 4; on EOF
// note "aborted" in $MARK and exit), "STDERR text" (to the helper's
// stderr), "EXIT n", or "SLEEP s".
const fakeMonitor = join(dir, 'fake-monitor.sh')
writeFileSync(
  fakeMonitor,
  `#!/bin/sh
printf '%s\\n' "$*" >"$MARK.args"
printf '%s\\n' "$SCENARIO" | while IFS= read -r step; do
  case $step in
    WAIT) if [ "$(head -c1 <&4 | od -An -tx1 | tr -d ' ')" = 01 ]; then echo started >"$MARK"; else echo aborted >"$MARK"; exit 0; fi ;;
    STDERR*) echo "\${step#STDERR }" >&2 ;;
    EXIT*) exit "\${step#EXIT }" ;;
    SLEEP*) sleep "\${step#SLEEP }" ;;
    *) printf '%s\\n' "$step" >&3 ;;
  esac
done
`,
)
chmodSync(fakeMonitor, 0o755)

// Stands in for tspod-ns: notes its arguments, then runs what follows "--".
const fakeHelper = join(dir, 'fake-ns.sh')
writeFileSync(
  fakeHelper,
  `#!/bin/sh
printf '%s\\n' "$*" >"$MARK.helper"
while [ "$1" != -- ]; do shift; done
shift
exec "$@"
`,
)
chmodSync(fakeHelper, 0o755)

let counter = 0

function options(steps: string[], extra: Partial<MonitorStartOptions> = {}): {opts: MonitorStartOptions; mark: string} {
  const mark = join(dir, `mark-${++counter}`)
  const opts: MonitorStartOptions = {
    monitorPath: fakeMonitor,
    cid: 'c'.repeat(64),
    runtime: '/usr/bin/crun',
    runtimeRoot: join(dir, 'rt'),
    bundle: join(dir, 'bundle'),
    socketDir: join(dir, `sock-${counter}`),
    exitFile: join(dir, 'exit'),
    pidFile: join(dir, 'pid'),
    logPath: join(dir, 'log'),
    env: {...process.env, SCENARIO: steps.join('\n'), MARK: mark},
    ...extra,
  }
  return {opts, mark}
}

t.test('parseSyncMessage reads each message the monitor sends', async t => {
  t.same(parseSyncMessage('{"monitor_pid":12}'), {kind: 'monitor_pid', pid: 12})
  t.same(parseSyncMessage('{"pid":34}'), {kind: 'pid', pid: 34})
  t.same(parseSyncMessage('{"started":true}'), {kind: 'started'})
  t.same(parseSyncMessage('{"error":"crun: boom","stage":"create","exit_code":1}'), {
    kind: 'error',
    stage: 'create',
    message: 'crun: boom',
    exitCode: 1,
  })
  t.same(parseSyncMessage('{"error":"mount overlay on /m: Invalid argument","stage":"mount"}'), {
    kind: 'error',
    stage: 'mount',
    message: 'mount overlay on /m: Invalid argument',
    exitCode: undefined,
  })
  t.throws(() => parseSyncMessage('not json'), RuntimeError)
  t.throws(() => parseSyncMessage('{"error":"x","stage":"later"}'), {message: /unexpected sync message/})
  t.throws(() => parseSyncMessage('{"pid":"12"}'), RuntimeError)
})

t.test('monitorArgs gives every option its flag', async t => {
  const args = monitorArgs({
    monitorPath: '/m',
    cid: 'abc',
    name: 'web',
    runtime: '/usr/bin/crun',
    runtimeRoot: '/rt',
    runtimeArgs: ['--cgroup-manager=disabled', '--debug'],
    bundle: '/b',
    socketDir: '/s',
    exitFile: '/e',
    pidFile: '/p',
    logPath: '/l',
    logDriver: 'k8s-file',
    logMaxSize: 1000,
    terminal: true,
    stdin: true,
    mountOverlay: 'lowerdir=/a,upperdir=/u,workdir=/w,userxattr',
    mountTarget: '/merged',
    rmDirs: ['/x', '/y'],
    exitCommand: ['/bin/tspod', 'container', 'cleanup', 'abc'],
    slirp4netns: '/usr/bin/slirp4netns',
    sdnotifySocket: '/n',
  })
  t.same(args, [
    '--cid', 'abc', '--name', 'web', '--runtime', '/usr/bin/crun', '--runtime-root', '/rt',
    '--runtime-arg', '--cgroup-manager=disabled', '--runtime-arg', '--debug',
    '--bundle', '/b', '--socket-dir', '/s', '--exit-file', '/e', '--pid-file', '/p', '--log-path', '/l',
    '--log-driver', 'k8s-file', '--log-max-size', '1000', '--terminal', '--stdin',
    '--mount-overlay', 'lowerdir=/a,upperdir=/u,workdir=/w,userxattr', '--mount-target', '/merged',
    '--rm-dir', '/x', '--rm-dir', '/y',
    '--exit-command', '/bin/tspod', '--exit-command-arg', 'container', '--exit-command-arg', 'cleanup', '--exit-command-arg', 'abc',
    '--slirp4netns', '/usr/bin/slirp4netns', '--sdnotify-socket', '/n',
  ])
  t.same(monitorArgs({monitorPath: '/m', cid: 'a', runtime: 'r', runtimeRoot: '/rt', bundle: '/b', socketDir: '/s', exitFile: '/e', pidFile: '/p', logDriver: 'none'}), [
    '--cid', 'a', '--runtime', 'r', '--runtime-root', '/rt', '--bundle', '/b', '--socket-dir', '/s', '--exit-file', '/e', '--pid-file', '/p', '--log-driver', 'none',
  ])
})

t.test('startMonitor resolves at the pid and start() sends the byte and waits for started', async t => {
  const {opts, mark} = options(['{"monitor_pid":101}', '{"pid":202}', 'WAIT', '{"started":true}'])
  const handle = await startMonitor(opts)
  t.equal(handle.monitorPid, 101)
  t.equal(handle.pid, 202)
  t.notOk(existsSync(mark), 'the monitor still waits for the start byte')
  await handle.start()
  t.equal(readFileSync(mark, 'utf8'), 'started\n')
  await handle.start()
  const args = readFileSync(`${mark}.args`, 'utf8').trim().split(' ')
  t.same(args.slice(-4), ['--sync-fd', '3', '--start-fd', '4'])
  t.ok(args.includes('--log-path'))
})

t.test('without waitForStart the monitor starts on its own', async t => {
  const {opts} = options(['{"monitor_pid":1}', '{"pid":2}', '{"started":true}'], {waitForStart: false})
  const handle = await startMonitor(opts)
  await handle.start()
  t.pass('started')
})

t.test('an error message rejects with a MonitorError in the runtime own words', async t => {
  const {opts} = options(['{"monitor_pid":1}', '{"error":"crun: open `/nope`: No such file or directory","stage":"create","exit_code":1}', 'SLEEP 0.2'])
  const started = Date.now()
  const err = await startMonitor(opts).then(
    () => undefined,
    (e: unknown) => e as MonitorError,
  )
  t.type(err, MonitorError)
  t.type(err, RuntimeError)
  t.equal(err?.message, 'create: crun: open `/nope`: No such file or directory')
  t.equal(err?.stage, 'create')
  t.equal(err?.runtimeExitCode, 1)
  t.equal(err?.exitCode, 127, 'a missing file in create is "not found", as Podman reports it')
  t.ok(Date.now() - started >= 150, 'rejects only once the monitor has finished (closed the pipe)')
})

t.test('exit codes follow the runtime message for create and start only', async t => {
  t.equal(new MonitorError('start', 'exec: permission denied').exitCode, 126)
  t.equal(new MonitorError('start', 'executable file `foo` not found in $PATH').exitCode, 127)
  t.equal(new MonitorError('create', 'cgroups: something else').exitCode, 125)
  t.equal(new MonitorError('mount', 'mount overlay on /m: No such file or directory').exitCode, 125)
})

t.test("runc's logrus line is reduced to its message", async t => {
  const err = new MonitorError('create', 'time="2026-11-22T12:02:43Z" level=error msg="runc create failed: exec: \\"/x\\": stat /x: no such file or directory"', 1)
  t.equal(err.message, 'create: runc create failed: exec: "/x": stat /x: no such file or directory')
  t.equal(err.exitCode, 127)
})

t.test('a start failure rejects start()', async t => {
  const {opts} = options(['{"monitor_pid":1}', '{"pid":2}', 'WAIT', '{"error":"fake-runtime: cannot start","stage":"start","exit_code":1}'])
  const handle = await startMonitor(opts)
  await t.rejects(handle.start(), {message: 'start: fake-runtime: cannot start', stage: 'start'})
  await handle.abort()
})

t.test('abort() closes the start pipe and waits for the monitor to finish', async t => {
  const {opts, mark} = options(['{"monitor_pid":1}', '{"pid":2}', 'WAIT', '{"started":true}'])
  const handle = await startMonitor(opts)
  await handle.abort()
  t.equal(readFileSync(mark, 'utf8'), 'aborted\n')
  await t.rejects(handle.start(), {message: /aborted/})
})

t.test('a helper that fails before the monitor runs is reported with its own line', async t => {
  const {opts} = options(['STDERR Error: tspod-ns: setns /proc/1/ns/user: Operation not permitted', 'EXIT 125'])
  await t.rejects(startMonitor(opts), {message: 'tspod-ns: setns /proc/1/ns/user: Operation not permitted', constructor: RuntimeError})
})

t.test('a monitor that dies without a word is reported as such', async t => {
  const before = options(['EXIT 0'])
  await t.rejects(startMonitor(before.opts), {message: /tspod-monitor exited with status 0 before creating the container/})
  const after = options(['{"monitor_pid":77}', '{"pid":2}', 'WAIT', 'EXIT 0'])
  const handle = await startMonitor(after.opts)
  await t.rejects(handle.start(), {message: 'start: tspod-monitor 77 exited before starting the container'})
})

t.test('a garbled sync pipe is an error', async t => {
  const {opts} = options(['{"monitor_pid":1}', 'hello'])
  await t.rejects(startMonitor(opts), {message: /unexpected sync message: hello/})
})

t.test('a missing monitor binary is reported', async t => {
  const {opts} = options([], {monitorPath: join(dir, 'nonexistent')})
  await t.rejects(startMonitor(opts), {message: /^run .*nonexistent: spawn .* ENOENT/})
})

t.test('the namespace helper comes first: nsHelper, or nsPrefix as given', async t => {
  const viaHelper = options(['{"monitor_pid":1}', '{"pid":2}', '{"started":true}'], {
    nsHelper: fakeHelper,
    runRoot: '/run/rr',
    idMappings: {uidmap: '0:1000:1', gidmap: '0:1000:1'},
    waitForStart: false,
  })
  await (await startMonitor(viaHelper.opts)).start()
  t.equal(readFileSync(`${viaHelper.mark}.helper`, 'utf8').split(' -- ')[0], '--runroot /run/rr --uidmap 0:1000:1 --gidmap 0:1000:1')

  const viaPrefix = options(['{"monitor_pid":1}', '{"pid":2}', '{"started":true}'], {
    nsPrefix: [fakeHelper, '--runroot', '/run/other', '--'],
    nsHelper: '/not/used',
    waitForStart: false,
  })
  await (await startMonitor(viaPrefix.opts)).start()
  t.match(readFileSync(`${viaPrefix.mark}.helper`, 'utf8'), /^--runroot \/run\/other -- .*fake-monitor\.sh --cid c{64} /)
})

t.test('FrameDecoder reassembles frames from any chunking', async t => {
  const frames = [encodeFrame(1, 'hello\n'), encodeFrame(2, ''), encodeFrame(3, '137'), encodeFrame(9, Buffer.alloc(300, 7))]
  const stream = Buffer.concat(frames)
  for (const size of [1, 2, 5, 7, stream.length]) {
    const got: Array<[number, string]> = []
    const decoder = new FrameDecoder((type, data) => got.push([type, data.toString('latin1')]))
    for (let i = 0; i < stream.length; i += size) decoder.push(stream.subarray(i, i + size))
    t.same(
      got,
      [
        [1, 'hello\n'],
        [2, ''],
        [3, '137'],
        [9, '\x07'.repeat(300)],
      ],
      `chunks of ${size}`,
    )
  }
  t.same([...encodeFrame(FrameType.signal, '15')], [3, 0, 0, 0, 2, 0x31, 0x35])
  const broken = new FrameDecoder(() => t.fail('no frame'))
  t.throws(() => broken.push(Buffer.from([1, 0xff, 0, 0, 0])), {message: /not a tspod-monitor stream/})
})

/** A fake attach socket: runs `serve` for each connection and records what clients send. */
async function fakeAttachSocket(t: Test, serve: (conn: Socket, received: Array<[number, string]>) => void): Promise<{path: string; received: Array<[number, string]>}> {
  const path = join(dir, `attach-${++counter}`)
  const received: Array<[number, string]> = []
  const server: Server = createServer(conn => {
    const decoder = new FrameDecoder((type, data) => received.push([type, data.toString()]))
    conn.on('data', chunk => decoder.push(chunk))
    serve(conn, received)
  })
  await new Promise<void>(resolve => server.listen(path, resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return {path, received}
}

function collect(): {stream: PassThrough; text: () => string} {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', chunk => (text += chunk))
  return {stream, text: () => text}
}

t.test('attach demultiplexes output, forwards stdin and its end, and resolves with the exit code at close', async t => {
  const {path, received} = await fakeAttachSocket(t, conn => {
    const out = Buffer.concat([encodeFrame(1, 'hel'), encodeFrame(2, 'warn\n'), encodeFrame(1, 'lo\n'), encodeFrame(3, '42')])
    // Split mid-header, as a stream may.
    conn.write(out.subarray(0, 3))
    setTimeout(() => conn.write(out.subarray(3)), 20)
    conn.on('data', () => {
      if (received.some(([type]) => type === FrameType.stdinEof)) setTimeout(() => conn.end(), 20)
    })
  })
  const stdout = collect()
  const stderr = collect()
  const exits: number[] = []
  let connection: Socket | undefined
  const result = await attach(path, {
    stdin: Readable.from([Buffer.from('line 1\n'), Buffer.from('line 2\n')]),
    stdout: stdout.stream,
    stderr: stderr.stream,
    onExit: code => exits.push(code),
    onConnect: conn => (connection = conn),
    flowControl: true,
  })
  t.same(result, {exitCode: 42})
  t.same(exits, [42])
  t.ok(connection, 'onConnect gave the connection')
  t.equal(stdout.text(), 'hello\n')
  t.equal(stderr.text(), 'warn\n')
  t.same(received, [
    [FrameType.flowControl, ''],
    [FrameType.stdin, 'line 1\n'],
    [FrameType.stdin, 'line 2\n'],
    [FrameType.stdinEof, ''],
  ])
})

t.test('attach without an exit frame resolves with undefined (the monitor died)', async t => {
  const {path} = await fakeAttachSocket(t, conn => conn.end(encodeFrame(1, 'partial')))
  const stdout = collect()
  const result = await attach(path, {stdout: stdout.stream, stderr: collect().stream})
  t.same(result, {exitCode: undefined})
  t.equal(stdout.text(), 'partial')
})

t.test('attach to a socket that is gone rejects with a RuntimeError', async t => {
  await t.rejects(attach(join(dir, 'no-such-socket'), {stdout: collect().stream, stderr: collect().stream}), {
    message: /^attach .*no-such-socket: connect ENOENT/,
    constructor: RuntimeError,
  })
})

t.test('sendSignal and resize send one frame and resolve when the monitor closes', async t => {
  const {path, received} = await fakeAttachSocket(t, conn => {
    conn.on('end', () => conn.end())
  })
  await sendSignal(path, 15)
  await resize(path, 24, 80)
  t.same(received, [
    [FrameType.signal, '15'],
    [FrameType.resize, '24 80'],
  ])
  await t.rejects(sendSignal(join(dir, 'gone'), 9), {message: /^signal 9: attach .*gone: connect ENOENT/})
})

t.test('resize on an attach connection writes to that connection', async t => {
  const {path, received} = await fakeAttachSocket(t, conn => {
    setTimeout(() => conn.end(encodeFrame(3, '0')), 100)
  })
  const result = await attach(path, {
    stdout: collect().stream,
    stderr: collect().stream,
    onConnect: conn => void resize(conn, 50, 132),
  })
  t.same(result, {exitCode: 0})
  t.same(received, [[FrameType.resize, '50 132']])
})

t.test('readExitFile', async t => {
  const path = join(dir, 'exit-file')
  t.equal(readExitFile(path), undefined, 'no file: still running')
  writeFileSync(path, '137 1763812345123456789\n')
  const report = readExitFile(path)
  t.equal(report?.exitCode, 137)
  t.equal(report?.finishedAt.toISOString(), '2025-11-22T11:52:25.123Z')
  writeFileSync(path, 'garbage')
  t.throws(() => readExitFile(path), {message: /expected "CODE NANOSECONDS", found "garbage"/})
})
