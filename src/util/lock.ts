/**
 * An exclusive inter-process lock on a file path, for writers of the store.
 *
 * Node has no flock(2), so the lock is a file created with O_EXCL that holds
 * the owner's pid and process start time. A lock whose owner is gone (kill -9)
 * is taken over at once instead of waiting for a timeout: the next command
 * never needs a manual repair. Readers never take it.
 */
import {linkSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {readFile, stat, unlink, writeFile} from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'
import {TspodError} from '../errors/index.js'
import {tempPathFor} from './atomic.js'

export interface LockHandle {
  release(): Promise<void>
}

export interface LockOptions {
  /** Give up after this many milliseconds; default: wait as long as the owner lives. */
  timeoutMs?: number
  /** Called once if the lock is busy, with the owner's pid, so the CLI can say what it waits for. */
  onWait?: (ownerPid: number) => void
}

/** The start time of a process in clock ticks since boot, or undefined if it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19]
  } catch {
    return undefined
  }
}

/**
 * True when pid names a live process (not a zombie) that started at `start`
 * (or any, when start is undefined). A zombie still has its /proc entry and
 * start time until its parent reaps it, and PID 1 on some hosts reaps
 * orphans late: a process that has exited must not count as alive.
 */
export function isLiveProcess(pid: number | undefined, start?: string): boolean {
  if (!pid) return false
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z' || fields[0] === 'X') return false
    return start === undefined || fields[19] === start
  } catch {
    return false
  }
}

const selfStart = () => processStartTime(process.pid) ?? '0'

function ownerIsAlive(content: string): {alive: boolean; pid: number} {
  const [pidText, start] = content.trim().split(' ')
  const pid = Number(pidText)
  if (!Number.isInteger(pid) || pid <= 0) return {alive: false, pid: 0}
  const actual = processStartTime(pid)
  return {alive: actual !== undefined && (start === undefined || actual === start), pid}
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<LockHandle> {
  const token = `${process.pid} ${selfStart()}\n`
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs
  let warned = false
  let delay = 2
  for (;;) {
    if (linkTokenSync(path, token)) return {release: () => releaseLock(path, token)}
    let content = ''
    try {
      content = await readFile(path, 'utf8')
    } catch {
      continue // released between our link and read
    }
    const owner = ownerIsAlive(content)
    if (!owner.alive) {
      await breakStaleLock(path, token)
      continue
    }
    if (Date.now() > deadline) {
      throw new TspodError(`timed out waiting for lock ${path} held by pid ${owner.pid}`)
    }
    if (!warned && options.onWait) {
      warned = true
      options.onWait(owner.pid)
    }
    await sleep(delay)
    delay = Math.min(delay * 2, 50)
  }
}

/**
 * One attempt at the lock: the token goes to a private file, which is then
 * linked into place, so the lock file never exists without its owner's
 * identity in it. True when taken, false when someone holds it. Three quick
 * syscalls in this tick: as async calls they would queue behind whatever else
 * the thread pool and the event loop are doing (a pull's downloads wait on
 * this).
 */
function linkTokenSync(path: string, token: string): boolean {
  const tmp = tempPathFor(path)
  writeFileSync(tmp, token)
  try {
    linkSync(tmp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return false
  } finally {
    try {
      unlinkSync(tmp)
    } catch {
      // already gone
    }
  }
}

/**
 * Remove a lock whose owner is dead. What was read of the lock may be stale
 * already (its owner released it normally and exited, and another process
 * holds the lock now), so the removal re-reads it, and breakers take turns
 * through a second lock file: while one holds it, a dead owner's lock can
 * change by nobody's hand but its own, so read-then-unlink is safe. A
 * breaker killed in between leaves `.break` behind; one older than a few
 * seconds is taken over.
 */
async function breakStaleLock(path: string, token: string): Promise<void> {
  const breaker = `${path}.break`
  try {
    await writeFile(breaker, token, {flag: 'wx'})
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const st = await stat(breaker).catch(() => undefined)
    if (st && Date.now() - st.mtimeMs > STALE_BREAKER_MS) await unlink(breaker).catch(() => {})
    else await sleep(1)
    return
  }
  try {
    const current = await readFile(path, 'utf8').catch(() => '')
    if (current !== '' && !ownerIsAlive(current).alive) await unlink(path).catch(() => {})
  } finally {
    await unlink(breaker).catch(() => {})
  }
}

const STALE_BREAKER_MS = 5000

async function releaseLock(path: string, token: string): Promise<void> {
  try {
    if ((await readFile(path, 'utf8')) === token) await unlink(path)
  } catch {
    // Already gone: nothing to release.
  }
}

export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(path, options)
  try {
    return await fn()
  } finally {
    await lock.release()
  }
}
