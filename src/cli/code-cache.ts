/**
 * Loads a command's handler bundle (CommonJS, dist/cli/handlers/ID.cjs) with
 * V8's code cache, kept per user under $XDG_CACHE_HOME/tspod/code.
 *
 * Without a cache, every command parses its bundle and compiles each function
 * the first time it runs: for `run` (300 KB) that was 9-10 ms of the 90 ms a
 * `run -d -p` takes here, as an ES module. With the cache, V8 deserializes the
 * bytecode of every function the last run compiled instead. Node 22 has this
 * built in (module.enableCompileCache); Node 20 has only vm.Script's
 * cachedData, so the bundles are CommonJS and wrapped here as Node would.
 *
 * One cache file per handler and installation directory, named after both
 * and stamped with the bundle's inode, size and mtime and Node's version: a
 * rebuilt or reinstalled tspod, or another Node, finds a stale stamp and
 * writes the file anew, so the directory holds one file per command and
 * installation. V8 also refuses data made by another V8 or with other flags
 * (cachedDataRejected), which counts as stale.
 * The file is written after the command's work, to a temporary name and
 * renamed; it is not synced, because a lost or torn cache is only re-made.
 */
import {closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {basename, dirname, join} from 'node:path'
import {Script} from 'node:vm'
import {pathKey, userCacheDir} from '../util/cache-dir.js'
import {debug} from '../util/log.js'

export interface LoadedBundle {
  exports: Record<string, unknown>
  /** Whether V8 took the cached code; off when there is no cache directory or TSPOD_CODE_CACHE=0. */
  cache: 'used' | 'stale' | 'missing' | 'off'
  /** Writes the code cache if it was missing or stale; never throws. */
  saveCache(): void
}

const MAGIC = 'tspod-code-cache 1'

export function loadBundle(file: string): LoadedBundle {
  const source = readFileSync(file, 'utf8')
  const dir = process.env.TSPOD_CODE_CACHE === '0' ? undefined : userCacheDir()
  const cacheFile = dir ? join(dir, 'code', `${basename(file, '.cjs')}-${pathKey(dirname(file))}.bin`) : undefined
  let stamp = ''
  let cachedData: Buffer | undefined
  if (cacheFile) {
    const st = statSync(file)
    stamp = `${MAGIC} ${process.version} ${process.arch} ${st.ino} ${st.size} ${st.mtimeMs}\n`
    cachedData = readCache(cacheFile, stamp)
  }
  // Wrapped on the source's first line, so that stack traces keep its line numbers.
  // No importModuleDynamically: under Node 20 any import() in such a script
  // needs --experimental-vm-modules, so the bundles have none (scripts/build.mjs).
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: file, cachedData})
  const cache = !cacheFile ? 'off' : cachedData === undefined ? 'missing' : script.cachedDataRejected === true ? 'stale' : 'used'
  const module = {exports: {} as Record<string, unknown>}
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  let saved = cache === 'used' || cache === 'off'
  return {
    exports: module.exports,
    cache,
    saveCache() {
      if (saved || !cacheFile) return
      saved = true
      const tmp = `${cacheFile}.${process.pid}`
      try {
        // The file first: where it cannot be written (a read-only home), the
        // serialization, a few ms for `run`, is not paid on every command.
        mkdirSync(dirname(cacheFile), {recursive: true, mode: 0o700})
        const fd = openSync(tmp, 'w', 0o600)
        let size: number
        try {
          // Made now, after the command ran, it holds every function the command compiled.
          const data = script.createCachedData()
          size = data.length
          writeFileSync(fd, Buffer.concat([Buffer.from(stamp), data]))
        } finally {
          closeSync(fd)
        }
        renameSync(tmp, cacheFile)
        debug(`code cache written: ${cacheFile} (${size} bytes)`)
      } catch (err) {
        try {
          unlinkSync(tmp)
        } catch {}
        debug(`code cache not written: ${(err as Error).message}`)
      }
    },
  }
}

/**
 * The cached code after its stamp, or undefined when it is missing, stale, or
 * not the user's own: code cache is code, so a file someone else owns or may
 * write is never run, however it came to be there.
 */
function readCache(file: string, stamp: string): Buffer | undefined {
  let data: Buffer
  try {
    const fd = openSync(file, 'r')
    try {
      const st = fstatSync(fd)
      if (st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) return undefined
      data = readFileSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    return undefined
  }
  const head = Buffer.from(stamp)
  return data.length > head.length && data.subarray(0, head.length).equals(head) ? data.subarray(head.length) : undefined
}
