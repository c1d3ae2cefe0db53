import t from 'tap'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {RootlessSetupError, TspodError} from '../../../src/errors/index.js'
import {
  checkRootlessPrerequisites,
  computeIdMappings,
  helperPath,
  isInUserNamespace,
  parseSubIds,
  readPausePid,
  readSubIds,
  reexecInNamespace,
  stopNamespaceHolder,
} from '../../../src/rootless/ns-helper.js'

const alice = {name: 'alice', uid: 1500}

const tempDirs: string[] = []
t.teardown(() => {
  for (const dir of tempDirs) rmSync(dir, {recursive: true, force: true})
})

function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tspod-ns-helper-${tag}-`))
  tempDirs.push(dir)
  return dir
}

function writeExecutable(path: string, body: string, mode = 0o755): string {
  writeFileSync(path, body)
  chmodSync(path, mode)
  return path
}

t.test('readSubIds matches the user by name and by uid, in file order', async t => {
  const file = join(tempDir('subuid'), 'subuid')
  writeFileSync(
    file,
    [
      '# comment line',
      'bob:100000:65536',
      'alice:165536:65536',
      '',
      '  1500:300000:1000  ',
      'alice:400000',
      'alice:x:10',
      'alice:500000:0',
      'alice:600000:10:extra',
      'alice:-1:10',
      'alicex:700000:10',
    ].join('\n'),
  )
  t.same(readSubIds(file, alice), [
    {start: 165536, count: 65536},
    {start: 300000, count: 1000},
  ])
  t.same(readSubIds(file, {name: 'bob', uid: 1}), [{start: 100000, count: 65536}])
  t.same(readSubIds(file, {name: 'carol', uid: 2}), [])
})

t.test('readSubIds treats a missing file as granting nothing', async t => {
  t.same(readSubIds(join(tempDir('missing'), 'subuid'), alice), [])
})

t.test('parseSubIds skips ranges that run past 2^32', async t => {
  t.same(parseSubIds('alice:4294967000:1000\nalice:10:5\n', alice), [{start: 10, count: 5}])
})

t.test('computeIdMappings maps 0 to the user and 1.. through the ranges', async t => {
  t.same(computeIdMappings(1001, 1002, [{start: 100000, count: 65536}], [{start: 200000, count: 65536}]), {
    uidmap: '0:1001:1,1:100000:65536',
    gidmap: '0:1002:1,1:200000:65536',
  })
  t.same(
    computeIdMappings(
      1001,
      1001,
      [
        {start: 100000, count: 10},
        {start: 300000, count: 5},
      ],
      [{start: 100000, count: 10}],
    ),
    {uidmap: '0:1001:1,1:100000:10,11:300000:5', gidmap: '0:1001:1,1:100000:10'},
  )
})

/** A fake host: subid files, a helper, newuidmap/newgidmap and /proc/sys. */
function fakeHost(setup: {subuid?: string; subgid?: string; toolMode?: number; helper?: boolean; maxUserNs?: string}) {
  const dir = tempDir('host')
  const tools = join(dir, 'bin')
  const build = join(dir, 'build')
  const procSys = join(dir, 'sys')
  mkdirSync(tools)
  mkdirSync(build)
  mkdirSync(join(procSys, 'user'), {recursive: true})
  writeFileSync(join(dir, 'subuid'), setup.subuid ?? 'alice:100000:65536\n')
  writeFileSync(join(dir, 'subgid'), setup.subgid ?? 'alice:100000:65536\n')
  writeFileSync(join(procSys, 'user/max_user_namespaces'), `${setup.maxUserNs ?? '1000'}\n`)
  if (setup.toolMode !== undefined) {
    writeExecutable(join(tools, 'newuidmap'), '#!/bin/sh\n', setup.toolMode)
    writeExecutable(join(tools, 'newgidmap'), '#!/bin/sh\n', setup.toolMode)
  }
  const helper = join(build, 'tspod-ns')
  if (setup.helper !== false) writeExecutable(helper, '#!/bin/sh\n')
  return {
    user: {name: 'alice', uid: 1500, gid: 1600},
    subuidFile: join(dir, 'subuid'),
    subgidFile: join(dir, 'subgid'),
    helperPath: helper,
    toolDirs: [tools],
    procSysDir: procSys,
  }
}

function setupError(fn: () => unknown): RootlessSetupError {
  try {
    fn()
  } catch (err) {
    if (err instanceof RootlessSetupError) return err
    throw err
  }
  throw new Error('expected a RootlessSetupError')
}

/**
 * Root can make a setuid-root fake newuidmap; anyone else borrows the host's
 * real ones (setuid root on any host set up for tspod).
 */
const isRoot = process.getuid?.() === 0
function toolsPassing(host: ReturnType<typeof fakeHost>): ReturnType<typeof fakeHost> {
  return isRoot ? host : {...host, toolDirs: ['/usr/bin']}
}

t.test('checkRootlessPrerequisites returns the mappings when all is in place', async t => {
  const host = toolsPassing(fakeHost({toolMode: isRoot ? 0o4755 : undefined}))
  t.same(checkRootlessPrerequisites(host), {uidmap: '0:1500:1,1:100000:65536', gidmap: '0:1600:1,1:100000:65536'})
})

t.test('checkRootlessPrerequisites skips PATH entries it cannot search, as a shell does', async t => {
  const host = toolsPassing(fakeHost({toolMode: isRoot ? 0o4755 : undefined}))
  const notADirectory = host.subuidFile
  t.same(checkRootlessPrerequisites({...host, toolDirs: [notADirectory, ...host.toolDirs]}), {uidmap: '0:1500:1,1:100000:65536', gidmap: '0:1600:1,1:100000:65536'})
})

t.test('checkRootlessPrerequisites: no subuid range', async t => {
  const host = fakeHost({subuid: 'bob:100000:65536\n', toolMode: 0o755})
  const err = setupError(() => checkRootlessPrerequisites(host))
  t.equal(err.message, `rootless setup: no subordinate uid range for user "alice" in ${host.subuidFile}`)
  t.equal(err.hint, 'as root, run: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice')
  t.equal(err.exitCode, 125)
})

t.test('checkRootlessPrerequisites: no subgid range', async t => {
  const host = fakeHost({subgid: '# none\n', toolMode: 0o755})
  const err = setupError(() => checkRootlessPrerequisites(host))
  t.equal(err.message, `rootless setup: no subordinate gid range for user "alice" in ${host.subgidFile}`)
  t.equal(err.hint, 'as root, run: usermod --add-subgids 100000-165535 alice')
})

t.test('checkRootlessPrerequisites: newuidmap missing', async t => {
  const host = fakeHost({})
  const err = setupError(() => checkRootlessPrerequisites(host))
  t.equal(err.message, `rootless setup: newuidmap not found in ${host.toolDirs[0]}`)
  t.match(err.hint, /apt-get install uidmap/)
})

t.test('checkRootlessPrerequisites: newuidmap neither setuid nor capable', async t => {
  const host = fakeHost({toolMode: 0o755})
  const tool = join(host.toolDirs[0], 'newuidmap')
  const err = setupError(() => checkRootlessPrerequisites(host))
  t.equal(err.message, `rootless setup: ${tool} is neither setuid root nor has cap_setuid`)
  t.equal(err.hint, `as root, run: chown root ${tool} && chmod u+s ${tool} (or: setcap cap_setuid+ep ${tool})`)
})

t.test('checkRootlessPrerequisites: helper not built', async t => {
  const host = fakeHost({helper: false, toolMode: 0o755})
  const err = setupError(() => checkRootlessPrerequisites(host))
  t.equal(err.message, `rootless setup: helper ${host.helperPath} not found`)
  t.match(err.hint, /npm run setup.*bash scripts\/build-c\.sh/)
})

t.test('checkRootlessPrerequisites: user namespaces disabled', async t => {
  const host = toolsPassing(fakeHost({toolMode: isRoot ? 0o4755 : undefined, maxUserNs: '0'}))
  const err = setupError(() => checkRootlessPrerequisites(host))
  t.equal(err.message, 'rootless setup: user namespaces are disabled (user.max_user_namespaces = 0)')
  t.equal(err.hint, 'as root, run: sysctl -w user.max_user_namespaces=28633')
})

t.test('isInUserNamespace', async t => {
  const saved = process.env.TSPOD_USERNS
  t.teardown(() => {
    if (saved === undefined) delete process.env.TSPOD_USERNS
    else process.env.TSPOD_USERNS = saved
  })
  process.env.TSPOD_USERNS = '1'
  t.equal(isInUserNamespace(), true)
  delete process.env.TSPOD_USERNS
  const identity = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295'
  t.equal(isInUserNamespace(), !identity)
})

t.test('helperPath', async t => {
  const saved = process.env.TSPOD_HELPER_DIR
  t.teardown(() => {
    if (saved === undefined) delete process.env.TSPOD_HELPER_DIR
    else process.env.TSPOD_HELPER_DIR = saved
  })
  process.env.TSPOD_HELPER_DIR = '/opt/tspod/libexec'
  t.equal(helperPath(), '/opt/tspod/libexec/tspod-ns')
  delete process.env.TSPOD_HELPER_DIR
  const path = helperPath()
  t.match(path, /\/build\/tspod-ns$/)
  const root = path.slice(0, -'/build/tspod-ns'.length)
  t.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name, 'tspod')
})

t.test('reexecInNamespace passes the command line and the exit code through', async t => {
  const dir = tempDir('reexec')
  const out = join(dir, 'args')
  const helper = writeExecutable(join(dir, 'tspod-ns'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${out}'\nexit 7\n`)
  const mappings = {uidmap: '0:1500:1,1:100000:65536', gidmap: '0:1600:1,1:100000:65536'}
  const code = await reexecInNamespace(['image', 'ls', '--all'], {runRoot: '/run/x', helperPath: helper, mappings})
  t.equal(code, 7)
  t.same(readFileSync(out, 'utf8').trimEnd().split('\n'), [
    '--runroot',
    '/run/x',
    '--uidmap',
    mappings.uidmap,
    '--gidmap',
    mappings.gidmap,
    '--',
    process.execPath,
    ...process.execArgv,
    process.argv[1],
    'image',
    'ls',
    '--all',
  ])
})

t.test('reexecInNamespace reports death by signal as 128+signo', async t => {
  const helper = writeExecutable(join(tempDir('signal'), 'tspod-ns'), '#!/bin/sh\nkill -TERM $$\n')
  t.equal(await reexecInNamespace([], {runRoot: '/run/x', helperPath: helper, mappings: {uidmap: '0:1:1', gidmap: '0:1:1'}}), 143)
})

t.test('reexecInNamespace forwards SIGHUP to the child', async t => {
  const dir = tempDir('forward')
  const ready = join(dir, 'ready')
  const helper = writeExecutable(
    join(dir, 'tspod-ns'),
    `#!/bin/sh\ntrap 'exit 42' HUP\n: > '${ready}'\nwhile :; do sleep 0.02; done\n`,
  )
  const running = reexecInNamespace([], {runRoot: '/run/x', helperPath: helper, mappings: {uidmap: '0:1:1', gidmap: '0:1:1'}})
  while (!readFileSafe(ready)) await new Promise(resolve => setTimeout(resolve, 10))
  const listeners = process.listenerCount('SIGHUP')
  process.kill(process.pid, 'SIGHUP')
  t.equal(await running, 42)
  t.equal(process.listenerCount('SIGHUP'), listeners - 1, 'stops forwarding once the child is gone')
})

function readFileSafe(path: string): boolean {
  try {
    readFileSync(path)
    return true
  } catch {
    return false
  }
}

t.test('reexecInNamespace refuses a missing helper with the build hint', async t => {
  await t.rejects(
    reexecInNamespace([], {runRoot: '/run/x', helperPath: join(tempDir('nohelper'), 'build', 'tspod-ns'), mappings: {uidmap: '0:1:1', gidmap: '0:1:1'}}),
    RootlessSetupError,
  )
})

t.test('readPausePid and stopNamespaceHolder drive --print-pid and --stop', async t => {
  const dir = tempDir('print-pid')
  const log = join(dir, 'log')
  const fake = (body: string) => writeExecutable(join(dir, 'tspod-ns'), `#!/bin/sh\necho "$@" >> '${log}'\n${body}\n`)
  fake('echo 4242')
  t.equal(await readPausePid('/run/r', join(dir, 'tspod-ns')), 4242)
  fake('exit 1')
  t.equal(await readPausePid('/run/r', join(dir, 'tspod-ns')), undefined)
  fake('exit 0')
  await stopNamespaceHolder('/run/r', join(dir, 'tspod-ns'))
  fake("echo 'Error: tspod-ns: kill 4242: Operation not permitted' >&2; exit 125")
  const err = await stopNamespaceHolder('/run/r', join(dir, 'tspod-ns')).catch(e => e)
  t.type(err, TspodError)
  t.equal(err.message, 'tspod-ns: kill 4242: Operation not permitted')
  t.equal(readFileSync(log, 'utf8'), '--runroot /run/r --print-pid\n'.repeat(2) + '--runroot /run/r --stop\n'.repeat(2))
})
