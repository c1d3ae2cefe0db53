/**
 * The TypeScript side of build/tspod-ns, the C helper that runs a command as
 * root inside the user's rootless user + mount namespace (Node can neither
 * unshare(2) nor setns(2)). Here we compute the ID mappings from /etc/subuid
 * and /etc/subgid, turn every missing prerequisite into an error that says
 * the exact fix before the helper ever runs, and re-execute tspod through the
 * helper. The helper's contract is docs/monitor-protocol.md, "tspod-ns".
 *
 * This module is on the hot path of every rootless command: it imports only
 * light node: modules and does nothing at import time.
 */
import {spawn, spawnSync} from 'node:child_process'
import {readFileSync, realpathSync, statSync, type Stats} from 'node:fs'
import {constants as osConstants, userInfo} from 'node:os'
import {delimiter, dirname, join} from 'node:path'
import {RootlessSetupError, TspodError, isErrno} from '../errors/index.js'

export interface IdRange {
  start: number
  count: number
}

export interface SubIdUser {
  name: string
  uid: number
}

/** Mappings in the helper's `CONTAINER:HOST:COUNT[,...]` form. */
export interface IdMappings {
  uidmap: string
  gidmap: string
}

export interface PrerequisiteOptions {
  /** Defaults to the current user. */
  user?: {name: string; uid: number; gid: number}
  subuidFile?: string
  subgidFile?: string
  /** Defaults to helperPath(). */
  helperPath?: string
  /** Where to look for newuidmap/newgidmap, in order; defaults to $PATH, then /usr/bin as the helper does. */
  toolDirs?: string[]
  /** Defaults to /proc/sys. */
  procSysDir?: string
}

export interface ReexecOptions {
  runRoot: string
  helperPath: string
  /** Skips reading /etc/subuid and /etc/subgid when the caller has them already. */
  mappings?: IdMappings
}

const HELPER_NAME = 'tspod-ns'
/** The range the hints suggest: the one shadow-utils gives the first user it sets up. */
const SUGGESTED_RANGE = '100000-165535'

/**
 * The ranges /etc/subuid or /etc/subgid grants `user`, in file order. Lines
 * name the user or its numeric id, as shadow-utils accepts either; comments
 * and malformed lines are skipped.
 */
export function parseSubIds(text: string, user: SubIdUser): IdRange[] {
  const ranges: IdRange[] = []
  const uid = String(user.uid)
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(':')
    if (fields.length !== 3) continue
    const [owner, start, count] = fields
    if (owner !== user.name && owner !== uid) continue
    if (!/^\d+$/.test(start) || !/^\d+$/.test(count)) continue
    const range = {start: Number(start), count: Number(count)}
    if (range.count === 0 || range.start + range.count > 2 ** 32) continue
    ranges.push(range)
  }
  return ranges
}

/** As parseSubIds, from a file; a missing file grants nothing. */
export function readSubIds(file: string, user: SubIdUser): IdRange[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return []
    throw new RootlessSetupError(`read ${file}: ${(err as Error).message}`, {cause: err})
  }
  return parseSubIds(text, user)
}

/**
 * Container id 0 is the user's own id (so files root makes in a container
 * belong to the user outside), and container ids 1.. run through the
 * subordinate ranges one after another.
 */
export function computeIdMappings(uid: number, gid: number, subuids: IdRange[], subgids: IdRange[]): IdMappings {
  return {uidmap: formatMapping(uid, subuids), gidmap: formatMapping(gid, subgids)}
}

function formatMapping(id: number, ranges: IdRange[]): string {
  const parts = [`0:${id}:1`]
  let next = 1
  for (const range of ranges) {
    parts.push(`${next}:${range.start}:${range.count}`)
    next += range.count
  }
  return parts.join(',')
}

/**
 * Checks what a rootless namespace needs (a few stats and small reads) and
 * returns the mappings to create it with. Each failure is a
 * RootlessSetupError whose hint is the exact fix.
 */
export function checkRootlessPrerequisites(options: PrerequisiteOptions = {}): IdMappings {
  const helper = options.helperPath ?? helperPath()
  // The CLI checks up front and reexecInNamespace checks again: the second time is free.
  const isDefault = Object.entries(options).every(([key, value]) => key === 'helperPath' || value === undefined)
  if (isDefault && lastCheck?.helper === helper) return lastCheck.mappings
  const mappings = checkPrerequisites(helper, options)
  if (isDefault) lastCheck = {helper, mappings}
  return mappings
}

let lastCheck: {helper: string; mappings: IdMappings} | undefined

function checkPrerequisites(helper: string, options: PrerequisiteOptions): IdMappings {
  checkHelper(helper)
  const user = options.user ?? currentUser()
  const subuidFile = options.subuidFile ?? '/etc/subuid'
  const subgidFile = options.subgidFile ?? '/etc/subgid'
  const subuids = readSubIds(subuidFile, user)
  if (subuids.length === 0) {
    throw new RootlessSetupError(`rootless setup: no subordinate uid range for user "${user.name}" in ${subuidFile}`, {
      hint: `as root, run: usermod --add-subuids ${SUGGESTED_RANGE} --add-subgids ${SUGGESTED_RANGE} ${user.name}`,
    })
  }
  const subgids = readSubIds(subgidFile, {name: user.name, uid: user.uid})
  if (subgids.length === 0) {
    throw new RootlessSetupError(`rootless setup: no subordinate gid range for user "${user.name}" in ${subgidFile}`, {
      hint: `as root, run: usermod --add-subgids ${SUGGESTED_RANGE} ${user.name}`,
    })
  }
  const toolDirs = options.toolDirs ?? [...(process.env.PATH ?? '').split(delimiter).filter(dir => dir !== ''), '/usr/bin']
  checkIdMapTool('newuidmap', 'cap_setuid', toolDirs)
  checkIdMapTool('newgidmap', 'cap_setgid', toolDirs)
  checkUserNamespacesEnabled(options.procSysDir ?? '/proc/sys')
  return computeIdMappings(user.uid, user.gid, subuids, subgids)
}

function currentUser(): {name: string; uid: number; gid: number} {
  try {
    const info = userInfo()
    return {name: info.username, uid: info.uid, gid: info.gid}
  } catch {
    // No passwd entry (an arbitrary uid): /etc/subuid may still name the number.
    const uid = process.getuid?.() ?? -1
    return {name: process.env.USER ?? String(uid), uid, gid: process.getgid?.() ?? -1}
  }
}

function checkHelper(path: string): void {
  const st = statSync(path, {throwIfNoEntry: false})
  if (st?.isFile() && (st.mode & 0o111) !== 0) return
  const root = dirname(dirname(path))
  throw new RootlessSetupError(`rootless setup: helper ${path} ${st ? 'is not an executable file' : 'not found'}`, {
    hint: `build it: run "npm run setup" (or "bash scripts/build-c.sh") in ${root}`,
  })
}

function findTool(name: string, dirs: string[]): {path: string; st: Stats} | undefined {
  for (const dir of dirs) {
    const path = join(dir, name)
    let st: Stats | undefined
    try {
      st = statSync(path, {throwIfNoEntry: false})
    } catch {
      // A PATH entry this user cannot search (EACCES) or that is no directory (ENOTDIR): the shell skips it too.
      continue
    }
    if (st?.isFile() && (st.mode & 0o111) !== 0) return {path, st}
  }
  return undefined
}

function checkIdMapTool(name: string, capability: string, dirs: string[]): void {
  const found = findTool(name, dirs)
  if (found === undefined) {
    throw new RootlessSetupError(`rootless setup: ${name} not found in ${dirs.join(':')}`, {
      hint: 'as root, run: apt-get install uidmap (Fedora: dnf install shadow-utils)',
    })
  }
  const {path, st} = found
  if ((st.mode & 0o4000) !== 0 && st.uid === 0) return
  // Some distributions grant file capabilities instead of setuid; Node cannot
  // read xattrs, so ask getcap, but only on this rare path.
  if (hasFileCapability(path, capability)) return
  throw new RootlessSetupError(`rootless setup: ${path} is neither setuid root nor has ${capability}`, {
    hint: `as root, run: chown root ${path} && chmod u+s ${path} (or: setcap ${capability}+ep ${path})`,
  })
}

function hasFileCapability(path: string, capability: string): boolean {
  const result = spawnSync('getcap', [path], {encoding: 'utf8'})
  // Without getcap we cannot tell: let newuidmap itself report the failure.
  if (result.error !== undefined) return true
  return result.stdout.includes(capability)
}

function checkUserNamespacesEnabled(procSysDir: string): void {
  const max = readSysctl(join(procSysDir, 'user/max_user_namespaces'))
  if (max === '0') {
    throw new RootlessSetupError('rootless setup: user namespaces are disabled (user.max_user_namespaces = 0)', {
      hint: 'as root, run: sysctl -w user.max_user_namespaces=28633',
    })
  }
  // Debian's older kernels gate unprivileged user namespaces behind their own switch.
  if (readSysctl(join(procSysDir, 'kernel/unprivileged_userns_clone')) === '0') {
    throw new RootlessSetupError('rootless setup: unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)', {
      hint: 'as root, run: sysctl -w kernel.unprivileged_userns_clone=1',
    })
  }
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/**
 * Runs this same tspod command again through the helper, as root in the
 * rootless namespace, and resolves with its exit code (128+signo if a signal
 * ended it). stdio and the environment pass through. SIGINT, SIGTERM and
 * SIGHUP are forwarded; a ^C at the terminal reaches the child directly too,
 * as the child stays in the terminal's foreground process group (it must, to
 * read from the terminal).
 */
export async function reexecInNamespace(argv: string[], opts: ReexecOptions): Promise<number> {
  const script = process.argv[1]
  if (script === undefined) throw new TspodError('re-executing in the user namespace: no script path in process.argv')
  checkHelper(opts.helperPath)
  const args = ['--runroot', opts.runRoot]
  // Root needs no mappings: the helper execs the command directly.
  const mappings =
    opts.mappings ?? (process.getuid?.() === 0 ? undefined : checkRootlessPrerequisites({helperPath: opts.helperPath}))
  if (mappings !== undefined) args.push('--uidmap', mappings.uidmap, '--gidmap', mappings.gidmap)
  args.push('--', process.execPath, ...process.execArgv, script, ...argv)

  return new Promise((resolve, reject) => {
    const child = spawn(opts.helperPath, args, {stdio: 'inherit'})
    const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal)
    }
    for (const signal of forwarded) process.on(signal, forward)
    const stopForwarding = () => {
      for (const signal of forwarded) process.off(signal, forward)
    }
    child.once('error', err => {
      stopForwarding()
      reject(new TspodError(`run ${opts.helperPath}: ${err.message}`, {cause: err}))
    })
    child.once('exit', (code, signal) => {
      stopForwarding()
      resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0))
    })
  })
}

/** The pid of runRoot's live pause process (the namespace holder), for tspod info; undefined if none. */
export async function readPausePid(runRoot: string, helper = helperPath()): Promise<number | undefined> {
  const result = await runHelper(helper, ['--runroot', runRoot, '--print-pid'])
  if (result.code === 1) return undefined
  if (result.code !== 0) throw helperFailure(helper, result)
  return Number(result.stdout.trim())
}

/**
 * Kills runRoot's pause process and removes its pid file (tspod system
 * reset). Works from inside the namespace too; containers still running keep
 * their own namespaces, and the next command makes a fresh holder.
 */
export async function stopNamespaceHolder(runRoot: string, helper = helperPath()): Promise<void> {
  const result = await runHelper(helper, ['--runroot', runRoot, '--stop'])
  if (result.code !== 0) throw helperFailure(helper, result)
}

interface HelperResult {
  code: number | null
  stdout: string
  stderr: string
}

function runHelper(helper: string, args: string[]): Promise<HelperResult> {
  checkHelper(helper)
  return new Promise((resolve, reject) => {
    const child = spawn(helper, args, {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', chunk => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', chunk => (stderr += chunk))
    child.once('error', err => reject(new TspodError(`run ${helper}: ${err.message}`, {cause: err})))
    child.once('close', code => resolve({code, stdout, stderr}))
  })
}

/** The helper's own line is already "Error: tspod-ns: <what>: <cause>"; keep its words. */
function helperFailure(helper: string, result: HelperResult): TspodError {
  const line = result.stderr.trim().split('\n')[0]?.replace(/^Error: /, '')
  return new TspodError(line || `${helper}: exit status ${result.code}`)
}

/** True when this process already runs inside a user namespace other than the host's. */
export function isInUserNamespace(): boolean {
  if (process.env.TSPOD_USERNS === '1') return true
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ')
    return map !== '0 0 4294967295'
  } catch {
    return false
  }
}

let packageRoot: string | undefined

/**
 * build/tspod-ns of this package. TSPOD_HELPER_DIR names the helper's
 * directory outright; otherwise the package root is the nearest directory
 * holding package.json above the running script (its realpath, as npm links
 * bin/ entries), which holds for the sources, for the esbuild bundle in dist/
 * and for an installed copy alike.
 */
export function helperPath(): string {
  const dir = process.env.TSPOD_HELPER_DIR
  if (dir) return join(dir, HELPER_NAME)
  packageRoot ??= findPackageRoot()
  return join(packageRoot, 'build', HELPER_NAME)
}

function findPackageRoot(): string {
  let start: string
  try {
    start = dirname(realpathSync(process.argv[1] ?? ''))
  } catch {
    start = process.cwd()
  }
  for (let dir = start; ; dir = dirname(dir)) {
    if (statSync(join(dir, 'package.json'), {throwIfNoEntry: false})?.isFile()) return dir
    if (dirname(dir) === dir) break
  }
  // Without a package.json anywhere above, assume the script sits in bin/ or dist/.
  return dirname(start)
}
