// What every end-to-end test uses to drive the built CLI the way a user
// would: as an unprivileged user with subordinate ids, in a clean login-like
// environment, against a private store that is removed when the test ends.
//
// When the tests run as root (as in CI), each call switches to $TSPOD_USER
// (default tspod) through runuser; run by anyone else, calls run as that user.
// A missing prerequisite throws, so it fails the test instead of skipping it.
// Fixtures come from scripts/make-fixtures.sh: busybox-rootfs.tar always,
// debian-bookworm-rootfs.tar with --debian.
// TSPOD_TEST_VERBOSE=1 echoes each tspod call as a TAP comment.
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chownSync, chmodSync, existsSync, mkdirSync, readFileSync, statSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {constants as osConstants, userInfo} from 'node:os'
import {basename, dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import type {Test} from 'tap'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const tspodBin = join(repoRoot, 'bin', 'tspod')
const namespaceHelper = join(repoRoot, 'build', 'tspod-ns')
const storeBase = '/tmp/tspod-e2e'
// What /etc/login.defs gives a non-root login on Debian.
const LOGIN_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games'
// Enough for every id a distribution image uses, nobody (65534) included.
const SUBID_COUNT_NEEDED = 65536
const DEFAULT_TIMEOUT_MS = 120_000
const TEARDOWN_TIMEOUT_MS = 60_000

export interface TestUser {
  name: string
  uid: number
  gid: number
  home: string
  runtimeDir: string
  subuidCount: number
  subgidCount: number
  /** True when the tests run as root and switch to this user for every call. */
  switched: boolean
}

export interface Store {
  /** The test's own directory; root, runroot and configHome live in it. */
  dir: string
  root: string
  runroot: string
  /** XDG_CONFIG_HOME of every call on this store, so tests never share config. */
  configHome: string
}

export interface RunOptions {
  input?: string | Buffer
  env?: Record<string, string>
  timeoutMs?: number
  cwd?: string
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
  /** The command as a person would type it, for messages. */
  command: string
}

/** True under scripts/test.sh: prerequisites that are missing fail tests. */
export const strict = process.env.TSPOD_TEST_STRICT === '1'

const SETUP_HINT = 'run `npm run setup` as root'

let cachedUser: TestUser | undefined

function lookupAccount(name: string): {uid: number; gid: number; home: string} | undefined {
  try {
    const entry = execFileSync('getent', ['passwd', name], {encoding: 'utf8'}).trim()
    const fields = entry.split(':')
    return {uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? '/'}
  } catch {
    return undefined
  }
}

function countSubIds(file: string, name: string, uid: number): number {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return 0
  }
  let count = 0
  for (const line of text.split('\n')) {
    const [owner, , size] = line.split(':')
    if (owner === name || owner === String(uid)) count += Number(size) || 0
  }
  return count
}

function requireRuntimeDir(dir: string, name: string, uid: number): void {
  let owner: number
  try {
    const stats = statSync(dir)
    if (!stats.isDirectory()) throw new Error('not a directory')
    owner = stats.uid
  } catch {
    throw new Error(`runtime directory ${dir} of ${name} is missing: ${SETUP_HINT}`)
  }
  if (owner !== uid) {
    throw new Error(`runtime directory ${dir} is owned by uid ${owner}, not ${name}: ${SETUP_HINT}`)
  }
}

/**
 * The user the CLI runs as, checked once per process: it exists, owns at least
 * 65536 subordinate uids and gids, has its runtime directory, and can read
 * this checkout. Throws an Error naming the fix otherwise.
 */
export function requireUser(): TestUser {
  if (cachedUser) return cachedUser
  const switched = process.getuid?.() === 0
  let name: string
  let account: {uid: number; gid: number; home: string}
  let runtimeDir: string
  if (switched) {
    name = process.env.TSPOD_USER || 'tspod'
    const found = lookupAccount(name)
    if (!found) throw new Error(`test user ${name} does not exist: ${SETUP_HINT} (it creates the user)`)
    account = found
    runtimeDir = `/run/user/${account.uid}`
  } else {
    const me = userInfo()
    name = me.username
    account = {uid: me.uid, gid: me.gid, home: me.homedir}
    runtimeDir = process.env.XDG_RUNTIME_DIR || `/run/user/${me.uid}`
  }
  const subuidCount = countSubIds('/etc/subuid', name, account.uid)
  const subgidCount = countSubIds('/etc/subgid', name, account.uid)
  if (subuidCount < SUBID_COUNT_NEEDED || subgidCount < SUBID_COUNT_NEEDED) {
    throw new Error(
      `test user ${name} has ${subuidCount} subordinate uids and ${subgidCount} gids, ` +
        `tspod needs ${SUBID_COUNT_NEEDED} of each: ${SETUP_HINT} (it adds the ranges to /etc/subuid and /etc/subgid)`,
    )
  }
  requireRuntimeDir(runtimeDir, name, account.uid)
  if (switched) {
    try {
      execFileSync('runuser', ['-u', name, '--', 'test', '-r', join(repoRoot, 'package.json')])
    } catch {
      throw new Error(
        `test user ${name} cannot read ${repoRoot}: ${SETUP_HINT} (it opens the parent directories), ` +
          'or clone tspod to a world-readable place such as /opt/tspod',
      )
    }
  }
  cachedUser = {name, ...account, runtimeDir, subuidCount, subgidCount, switched}
  return cachedUser
}

/**
 * For a test that needs root itself (not the CLI, which never runs as root
 * here). Returns whether the process is root; when not, the test fails under
 * TSPOD_TEST_STRICT and is skipped otherwise.
 */
export function requireRoot(t: Test, why: string): boolean {
  if (process.getuid?.() === 0) return true
  if (strict) t.fail(`needs root: ${why}`)
  else t.pass('needs root', {skip: why})
  return false
}

function loginEnv(user: TestUser): Record<string, string> {
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: '/bin/sh',
    // A developer's own node may live outside the standard directories.
    PATH: user.switched ? LOGIN_PATH : process.env.PATH || LOGIN_PATH,
    XDG_RUNTIME_DIR: user.runtimeDir,
  }
}

function quoteForDisplay(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/**
 * Runs a command as the test user in a clean environment (HOME, USER,
 * LOGNAME, SHELL, PATH, XDG_RUNTIME_DIR, plus opts.env). Never throws on a
 * failing command: a timeout or a signal shows up in code and stderr.
 */
export async function runAsUser(command: string[], opts: RunOptions = {}): Promise<RunResult> {
  const user = requireUser()
  const env = {...loginEnv(user), ...opts.env}
  const [file, ...args] = user.switched
    ? ['runuser', '-u', user.name, '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...command]
    : command
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const stdio = opts.input === undefined ? {stdin: 'ignore' as const} : {input: opts.input}
  const result = await execa(file!, args, {
    ...stdio,
    env: user.switched ? {PATH: process.env.PATH ?? LOGIN_PATH} : env,
    extendEnv: false,
    cwd: opts.cwd,
    timeout: timeoutMs,
    reject: false,
  })
  const display = command.map(quoteForDisplay).join(' ')
  let stderr = result.stderr
  let code = result.exitCode
  if (result.timedOut) {
    stderr += `\n[harness] timed out after ${timeoutMs} ms: ${display}`
  } else if (code === undefined && !result.signal) {
    stderr += `\n[harness] could not start: ${result.shortMessage}`
  }
  if (code === undefined) {
    code = result.signal ? 128 + (osConstants.signals[result.signal] ?? 0) : 127
  }
  return {code, stdout: result.stdout, stderr, command: display}
}

/**
 * Runs bin/tspod as the test user with --root and --runroot of the store
 * prepended (none when store is null, to exercise the defaults).
 */
export async function tspod(t: Test, store: Store | null, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const storeArgs = store ? ['--root', store.root, '--runroot', store.runroot] : []
  const env = store ? {XDG_CONFIG_HOME: store.configHome, ...opts.env} : opts.env
  const result = await runAsUser([tspodBin, ...storeArgs, ...args], {...opts, env})
  result.command = ['tspod', ...args].map(quoteForDisplay).join(' ')
  if (process.env.TSPOD_TEST_VERBOSE === '1') t.comment(`$ ${result.command} -> ${result.code}`)
  return result
}

function slugify(text: string, max: number): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '')
}

// Names the store after the test file and the test, kept short because
// sockets under the runroot must fit in 108 bytes.
function storeName(t: Test): string {
  const file = basename(process.argv[1] ?? '').replace(/\.test\.[cm]?[jt]s$/, '')
  const name = [slugify(file, 10), slugify(t.name, 20)].filter(Boolean).join('-') || 'test'
  return `${name}-${randomBytes(3).toString('hex')}`
}

function makeOwnedDir(path: string, user: TestUser): void {
  mkdirSync(path, {mode: 0o700})
  if (user.switched) chownSync(path, user.uid, user.gid)
}

let unshareAvailable: Promise<boolean> | undefined

function hasUnshare(): Promise<boolean> {
  unshareAvailable ??= runAsUser([tspodBin, 'unshare', '--help'], {timeoutMs: TEARDOWN_TIMEOUT_MS}).then(
    result => result.code === 0,
  )
  return unshareAvailable
}

// Layer files belong to subordinate ids, so only the user namespace (or
// root) can delete them; the namespace holder goes last since the
// removal runs inside it.
async function removeStore(store: Store): Promise<void> {
  const user = requireUser()
  const onStore = [tspodBin, '--root', store.root, '--runroot', store.runroot]
  const quiet = {timeoutMs: TEARDOWN_TIMEOUT_MS, env: {XDG_CONFIG_HOME: store.configHome}}
  if (existsSync(tspodBin)) {
    if (!user.switched && (await hasUnshare())) {
      await runAsUser([...onStore, 'unshare', 'rm', '-rf', store.root], quiet)
    } else {
      await runAsUser([...onStore, 'system', 'reset', '-f'], quiet)
    }
  }
  if (existsSync(namespaceHelper)) {
    await runAsUser([namespaceHelper, '--runroot', store.runroot, '--stop'], quiet)
  }
  try {
    await rm(store.dir, {recursive: true, force: true})
  } catch (error) {
    console.error(`[harness] could not remove ${store.dir}: ${(error as Error).message}`)
  }
}

/**
 * A private store for one test, owned by the test user, under
 * /tmp/tspod-e2e/<test-name>-<random>/{root,runroot,config}; removed, and its
 * namespace holder stopped, when the test ends.
 */
export function makeStore(t: Test): Store {
  const user = requireUser()
  if (!existsSync(storeBase)) {
    mkdirSync(storeBase, {recursive: true})
    // Shared by every user that runs the tests, like /tmp itself.
    chmodSync(storeBase, 0o1777)
  }
  const dir = join(storeBase, storeName(t))
  const store: Store = {dir, root: join(dir, 'root'), runroot: join(dir, 'runroot'), configHome: join(dir, 'config')}
  makeOwnedDir(store.dir, user)
  t.teardown(() => removeStore(store))
  makeOwnedDir(store.root, user)
  makeOwnedDir(store.runroot, user)
  makeOwnedDir(store.configHome, user)
  return store
}

/** Path of a fixture tarball in the cache that scripts/make-fixtures.sh fills. */
export function fixture(name: string): string {
  const dir = process.env.TSPOD_FIXTURES || '/var/cache/tspod-fixtures'
  const path = join(dir, name)
  if (!existsSync(path)) {
    throw new Error(`fixture ${path} is missing: run \`npm run setup\` (or \`bash scripts/make-fixtures.sh\`) to build it`)
  }
  return path
}

/**
 * A busybox shell line that fetches the Debian mirror's Release file over
 * plain HTTP and prints the status line. busybox-static's wget crashes in
 * its static glibc resolver, so it resolves with nslookup and speaks HTTP
 * through nc. The request's stdin stays open a few seconds: nc half-closes
 * the socket when its stdin ends, and the proxy in front of the mirror on
 * some hosts answers a half-close with a reset before sending anything.
 * nc is cut short because through some backends the mirror's close arrives
 * late, and only the status line matters.
 */
export const MIRROR_FETCH = 'ip=$(nslookup deb.debian.org | awk "/^Address: /{print \\$2}" | grep -E "^[0-9.]+$" | tail -1); ' +
  '(printf "GET /debian/dists/bookworm/Release HTTP/1.0\\r\\nHost: deb.debian.org\\r\\n\\r\\n"; sleep 3) | timeout -s KILL 25 nc $ip 80 | head -1'

/**
 * Asserts the exit code, and the stderr when a pattern is given; on a
 * mismatch the report shows the command, its stdout and its stderr.
 */
export function expectExit(t: Test, result: RunResult, code: number, stderrPattern?: RegExp | string): boolean {
  const extra = {command: result.command, stdout: result.stdout, stderr: result.stderr}
  let ok = t.equal(result.code, code, `${result.command} exits ${code}`, extra)
  if (stderrPattern !== undefined) {
    ok = t.match(result.stderr, stderrPattern, `stderr of ${result.command}`, extra) && ok
  }
  return ok
}

export interface Podman {
  run(args: string[], opts?: RunOptions): Promise<RunResult>
}

/**
 * A private Podman for one test. Its directories live in a short temporary
 * directory of their own: Podman refuses a runroot longer than 50 characters.
 */
export async function makePodman(t: Test): Promise<Podman> {
  const made = await runAsUser(['mktemp', '-d', '/tmp/tspod-podman.XXXXXX'])
  expectExit(t, made, 0)
  const dir = made.stdout.trim()
  const home = join(dir, 'home')
  const runtimeDir = join(dir, 'xdg')
  expectExit(t, await runAsUser(['mkdir', '-m', '700', home, runtimeDir]), 0)
  const env = {HOME: home, XDG_RUNTIME_DIR: runtimeDir, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share')}
  const base = [
    'podman',
    '--root', join(dir, 'root'),
    '--runroot', join(dir, 'run'),
    '--storage-driver', 'vfs',
    '--events-backend', 'none',
    '--cgroup-manager', 'cgroupfs',
    '--runtime', 'runc',
  ]
  const run = (args: string[], opts: RunOptions = {}): Promise<RunResult> => runAsUser([...base, ...args], {...opts, env: {...env, ...opts.env}})
  t.teardown(async () => {
    // Layers of a vfs store belong to subordinate ids: only Podman's namespace can remove them.
    await run(['unshare', 'rm', '-rf', join(dir, 'root'), join(dir, 'run')])
    const pause = await runAsUser(['cat', join(runtimeDir, 'libpod', 'tmp', 'pause.pid')])
    if (pause.code === 0 && /^\d+$/.test(pause.stdout.trim())) await runAsUser(['kill', '-KILL', pause.stdout.trim()])
    await runAsUser(['rm', '-rf', dir])
  })
  return {run}
}
