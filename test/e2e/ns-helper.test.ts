/**
 * Drives the real build/tspod-ns as an unprivileged user: as root, through
 * `runuser -u tspod`; as the user tspod, directly. Each test has its own run
 * root under the user's XDG_RUNTIME_DIR and stops its pause process at the
 * end. A missing prerequisite fails the run and says what is missing.
 */
import t from 'tap'
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {computeIdMappings, readSubIds} from '../../src/rootless/ns-helper.js'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const helper = join(repo, 'build', 'tspod-ns')
const USER = 'tspod'

interface Account {
  uid: number
  gid: number
  home: string
}

function lookUpAccount(name: string): Account | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':')
    if (f[0] === name) return {uid: Number(f[2]), gid: Number(f[3]), home: f[5]}
  }
  return undefined
}

const isRoot = process.getuid?.() === 0
const account = lookUpAccount(USER)
const runtimeDir = isRoot ? `/run/user/${account?.uid}` : process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.()}`

/** What this machine lacks for the test, or undefined. */
function findMissing(): string | undefined {
  if (account === undefined) return `user "${USER}" does not exist (create it: useradd -m -u 1001 ${USER})`
  if (!isRoot && process.getuid?.() !== account.uid) {
    return `run these tests as root or as user "${USER}" (uid ${account.uid}), not as uid ${process.getuid?.()}`
  }
  if (isRoot && spawnSync('runuser', ['--version']).error !== undefined) return 'runuser not found in PATH (apt-get install util-linux)'
  const st = statSync(runtimeDir, {throwIfNoEntry: false})
  if (!st?.isDirectory() || st.uid !== account.uid) return `${runtimeDir} is missing or not owned by ${USER} (as root: install -d -m 700 -o ${USER} -g ${USER} ${runtimeDir})`
  if (readSubIds('/etc/subuid', {name: USER, uid: account.uid}).length === 0) return `no range for ${USER} in /etc/subuid`
  if (readSubIds('/etc/subgid', {name: USER, uid: account.uid}).length === 0) return `no range for ${USER} in /etc/subgid`
  if (!isHelperFresh()) {
    const build = spawnSync('bash', [join(repo, 'scripts', 'build-c.sh')], {encoding: 'utf8'})
    if (build.status !== 0) return `bash scripts/build-c.sh failed: ${build.stderr.trim() || build.error?.message}`
  }
  return undefined
}

/** Built after its last source change (the repository may not be writable for the user running this). */
function isHelperFresh(): boolean {
  const built = statSync(helper, {throwIfNoEntry: false})
  if (built === undefined) return false
  const sources = join(repo, 'src', 'monitor')
  return readdirSync(sources).every(name => statSync(join(sources, name)).mtimeMs <= built.mtimeMs)
}

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs argv as the unprivileged user. */
function runAsUser(argv: string[], options: {cwd?: string; env?: Record<string, string>} = {}): Promise<Result> {
  const env = {XDG_RUNTIME_DIR: runtimeDir, HOME: account!.home, PATH: '/usr/local/bin:/usr/bin:/bin', ...options.env}
  const [file, args] = isRoot
    ? ['runuser', ['-u', USER, '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]]
    : [argv[0], argv.slice(1)]
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {cwd: options.cwd ?? '/', env: isRoot ? process.env : {...process.env, ...env}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => (stdout += chunk))
    child.stderr.on('data', chunk => (stderr += chunk))
    child.on('error', reject)
    child.on('close', code => resolve({code, stdout, stderr}))
  })
}

/** A fresh place for one test: BASE/run is the run root (made by the helper), BASE/data a directory of the user's. */
class Sandbox {
  readonly base: string
  readonly runRoot: string
  readonly data: string
  readonly maps = computeIdMappings(
    account!.uid,
    account!.gid,
    readSubIds('/etc/subuid', {name: USER, uid: account!.uid}),
    readSubIds('/etc/subgid', {name: USER, uid: account!.uid}),
  )

  constructor(name: string) {
    this.base = mkdtempSync(join(runtimeDir, `tspod-e2e-ns-helper-${name}-`))
    this.runRoot = join(this.base, 'run')
    this.data = join(this.base, 'data')
    mkdirSync(this.data)
    if (isRoot) {
      chownSync(this.base, account!.uid, account!.gid)
      chownSync(this.data, account!.uid, account!.gid)
    }
  }

  ns(cmd: string[], options: {cwd?: string; env?: Record<string, string>; maps?: boolean} = {}): Promise<Result> {
    const maps = options.maps === false ? [] : ['--uidmap', this.maps.uidmap, '--gidmap', this.maps.gidmap]
    return runAsUser([helper, '--runroot', this.runRoot, ...maps, '--', ...cmd], {cwd: options.cwd ?? this.data, env: options.env})
  }

  sh(script: string): Promise<Result> {
    return this.ns(['sh', '-c', script])
  }

  async pausePid(): Promise<number | undefined> {
    const r = await runAsUser([helper, '--runroot', this.runRoot, '--print-pid'])
    return r.code === 0 ? Number(r.stdout.trim()) : undefined
  }

  stop(): Promise<Result> {
    return runAsUser([helper, '--runroot', this.runRoot, '--stop'])
  }

  /** Files owned by subordinate ids can only be removed from inside the namespace. */
  async remove(): Promise<void> {
    await this.ns(['rm', '-rf', this.data])
    await this.stop()
    rmSync(this.base, {recursive: true, force: true})
  }
}

/** Live (non-zombie) processes whose command line names this run root: pause processes and helpers. */
function processesOf(runRoot: string): Array<{pid: number; comm: string}> {
  const found: Array<{pid: number; comm: string}> = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0]
      if (state === 'Z' || state === 'X') continue
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(runRoot)) found.push({pid: Number(entry), comm})
    } catch {
      // Gone meanwhile.
    }
  }
  return found
}

function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2)[0])
  } catch {
    return false
  }
}

async function waitFor(what: string, predicate: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

function sandbox(t: {teardown: (fn: () => unknown) => void}, name: string): Sandbox {
  const box = new Sandbox(name)
  t.teardown(() => box.remove())
  return box
}

const missing = findMissing()
if (missing !== undefined) {
  t.fail(`tspod-ns e2e prerequisites: ${missing}`)
} else {
  t.test('runs the command as root in a new user namespace with the full mapping', async t => {
    const box = sandbox(t, 'mapping')
    const r = await box.sh('id -u; id -g; echo "$TSPOD_USERNS"; pwd; cat /proc/self/uid_map /proc/self/gid_map; ls /proc/$$/fd')
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stderr, '')
    const lines = r.stdout.trim().split('\n')
    t.same(lines.slice(0, 4), ['0', '0', '1', box.data], 'uid 0, gid 0, TSPOD_USERNS=1, cwd kept')
    const maps = lines.slice(4, 8).map(line => line.trim().split(/\s+/).join(':'))
    t.same(maps, [`0:${account!.uid}:1`, '1:100000:65536', `0:${account!.gid}:1`, '1:100000:65536'])
    // Whatever the test runner itself inherited reaches a plain child too.
    const baseline = await runAsUser(['sh', '-c', 'ls /proc/$$/fd'], {cwd: box.data})
    t.same(lines.slice(8), baseline.stdout.trim().split('\n'), 'no descriptor of the helper leaks into the command')
    t.equal(statSync(box.runRoot).mode & 0o777, 0o700, 'run root created 0700')
    const pid = await box.pausePid()
    t.ok(pid, 'a pause process is alive')
    t.equal(readFileSync(join(box.runRoot, 'pause.pid'), 'utf8'), `${pid}\n`)
    t.equal(readFileSync(`/proc/${pid}/comm`, 'utf8'), 'tspod-pause\n')
    t.same(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2'])
    t.equal(readlinkSync(`/proc/${pid}/fd/0`), '/dev/null')
  })

  t.test('two invocations join the same namespaces and see each other\'s mounts', async t => {
    const box = sandbox(t, 'join')
    const first = await box.sh(`readlink /proc/self/ns/user /proc/self/ns/mnt; mkdir -p m && mount -t tmpfs tmpfs m && touch m/mounted`)
    t.equal(first.code, 0, first.stderr)
    const pid = await box.pausePid()
    const second = await box.sh('readlink /proc/self/ns/user /proc/self/ns/mnt; ls m')
    t.equal(second.code, 0, second.stderr)
    const [user1, mnt1] = first.stdout.trim().split('\n')
    const [user2, mnt2, listing] = second.stdout.trim().split('\n')
    t.equal(user2, user1)
    t.equal(mnt2, mnt1)
    t.equal(listing, 'mounted', 'a mount made by one invocation is visible to the next')
    t.equal(await box.pausePid(), pid, 'same pause process')
    t.equal(readlinkSync(`/proc/${pid}/ns/user`), user1)
    t.notOk(existsSync(join(box.data, 'm', 'mounted')), 'the mount does not propagate to the host')
    await box.sh('umount m')
  })

  t.test('a file chowned to 42 inside belongs to 100041 outside', async t => {
    const box = sandbox(t, 'chown')
    const r = await box.sh('touch f && chown 42:42 f && stat -c %u:%g f')
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout.trim(), '42:42')
    const st = statSync(join(box.data, 'f'))
    t.same([st.uid, st.gid], [100041, 100041])
  })

  t.test('after kill -9 of the pause process the next invocation makes a new one', async t => {
    const box = sandbox(t, 'kill-pause')
    t.equal((await box.sh('true')).code, 0)
    const old = (await box.pausePid())!
    process.kill(old, 'SIGKILL')
    await waitFor('the pause process is dead', () => !isLive(old))
    t.equal(await box.pausePid(), undefined, '--print-pid sees the stale pid file')
    const r = await box.sh('id -u')
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, '0\n')
    const fresh = await box.pausePid()
    t.ok(fresh)
    t.not(fresh, old)
  })

  t.test('a kill -9 of the helper during creation leaves nothing to join', async t => {
    const box = sandbox(t, 'kill-helper')
    // A newuidmap that kills its caller, the helper, mid-creation.
    const bin = join(box.base, 'bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'newuidmap'), '#!/bin/sh\nkill -9 $PPID\nsleep 1\n')
    chmodSync(join(bin, 'newuidmap'), 0o755)
    if (isRoot) chownSync(bin, account!.uid, account!.gid)
    const r = await box.ns(['true'], {env: {PATH: `${bin}:/usr/bin:/bin`}})
    t.not(r.code, 0, 'the helper was killed')
    await waitFor('the unfinished pause process exits', () => processesOf(box.runRoot).length === 0)
    t.notOk(existsSync(join(box.runRoot, 'pause.pid')), 'no pid file written')
    const again = await box.sh('id -u')
    t.equal(again.code, 0, again.stderr)
    t.ok(await box.pausePid())
  })

  t.test('10 concurrent invocations on a fresh run root create exactly one pause process', async t => {
    const box = sandbox(t, 'concurrent')
    const results = await Promise.all(Array.from({length: 10}, () => box.sh('readlink /proc/self/ns/user')))
    for (const r of results) t.equal(r.code, 0, r.stderr)
    t.equal(new Set(results.map(r => r.stdout)).size, 1, 'all in the same user namespace')
    const pid = await box.pausePid()
    t.same(processesOf(box.runRoot), [{pid, comm: 'tspod-pause'}])
  })

  t.test('--stop kills the pause process and removes the pid file', async t => {
    const box = sandbox(t, 'stop')
    t.equal((await box.sh('true')).code, 0)
    const pid = (await box.pausePid())!
    const r = await box.stop()
    t.same(r, {code: 0, stdout: '', stderr: ''})
    t.notOk(isLive(pid), 'pause process gone')
    t.notOk(existsSync(join(box.runRoot, 'pause.pid')))
    t.equal(await box.pausePid(), undefined)
    t.same(await box.stop(), {code: 0, stdout: '', stderr: ''}, 'stopping again is fine')
  })

  t.test('--stop works from inside the namespace (as tspod system reset runs)', async t => {
    const box = sandbox(t, 'stop-inside')
    const r = await box.ns([helper, '--runroot', box.runRoot, '--stop'])
    t.same(r, {code: 0, stdout: '', stderr: ''})
    t.equal(await box.pausePid(), undefined)
    t.same(processesOf(box.runRoot), [])
  })

  t.test('failures: exit code and one line on stderr', async t => {
    const box = sandbox(t, 'errors')
    const notFound = await box.ns(['/nonexistent/cmd'])
    t.same(notFound, {code: 127, stdout: '', stderr: 'Error: tspod-ns: exec /nonexistent/cmd: No such file or directory\n'})
    await box.stop()
    const noMaps = await box.ns(['true'], {maps: false})
    t.same(noMaps, {
      code: 125,
      stdout: '',
      stderr: `Error: tspod-ns: ${box.runRoot}: no live pause process, and no --uidmap/--gidmap to create one\n`,
    })
    const badMap = await runAsUser([helper, '--runroot', box.runRoot, '--uidmap', '0:1', '--gidmap', '0:1:1', '--', 'true'])
    t.same(badMap, {
      code: 125,
      stdout: '',
      stderr: 'Error: tspod-ns: --uidmap 0:1: expected CONTAINER:HOST:COUNT[,CONTAINER:HOST:COUNT...]\n',
    })
    const refused = await runAsUser([helper, '--runroot', box.runRoot, '--uidmap', `0:${account!.uid}:1,1:300000:10`, '--gidmap', box.maps.gidmap, '--', 'true'])
    t.equal(refused.code, 125)
    t.match(refused.stderr, /^Error: tspod-ns: newuidmap \d+: exit status 1: newuidmap: .*\n$/)
    t.equal(refused.stderr.split('\n').length, 2, 'exactly one line')
    t.notOk(existsSync(join(box.runRoot, 'pause.pid')), 'no pid file after a failed creation')
  })
}
