import t, {type Test} from 'tap'
import {chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadBundle} from '../../../src/cli/code-cache.js'

function setup(t: Test): {dir: string; file: string; cacheFile: () => string} {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-code-cache-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const saved = {XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, TSPOD_CODE_CACHE: process.env.TSPOD_CODE_CACHE}
  process.env.XDG_CACHE_HOME = join(dir, 'cache')
  delete process.env.TSPOD_CODE_CACHE
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
  const file = join(dir, 'some-handler.cjs')
  writeFileSync(file, '"use strict";\nexports.default = (x) => x * 2\nexports.where = __filename\nexports.path = require("node:path").sep\n')
  const cacheDir = join(dir, 'cache', 'tspod', 'code')
  return {dir, file, cacheFile: () => join(cacheDir, readdirSync(cacheDir).find(n => n.startsWith('some-handler-') && n.endsWith('.bin'))!)}
}

t.test('a bundle runs as CommonJS, and its cache is written once and then used', async t => {
  const {file, cacheFile} = setup(t)
  const first = loadBundle(file)
  t.equal(first.cache, 'missing')
  t.equal((first.exports.default as (x: number) => number)(21), 42)
  t.equal(first.exports.where, file)
  t.equal(first.exports.path, '/')
  first.saveCache()
  t.match(readFileSync(cacheFile(), 'latin1'), /^tspod-code-cache 1 v\d+/)
  const second = loadBundle(file)
  t.equal(second.cache, 'used')
  t.equal((second.exports.default as (x: number) => number)(2), 4)
  const before = readFileSync(cacheFile())
  second.saveCache()
  t.same(readFileSync(cacheFile()), before, 'a used cache is not rewritten')
})

/** The bundle (now x * 3) loads from source with the cache `state`, runs, and is cached for the next load. */
function recompiledThenCached(t: Test, file: string, state: 'missing' | 'stale'): void {
  const bundle = loadBundle(file)
  t.equal(bundle.cache, state)
  t.equal((bundle.exports.default as (x: number) => number)(2), 6)
  bundle.saveCache()
  t.equal(loadBundle(file).cache, 'used')
}

t.test('a changed bundle or a damaged cache is compiled from source and the cache made anew', async t => {
  const {file, cacheFile, dir} = setup(t)
  loadBundle(file).saveCache()
  // Same length, other code: only the stamp (inode, size, mtime) tells.
  writeFileSync(file, '"use strict";\nexports.default = (x) => x * 3\nexports.where = __filename\nexports.path = require("node:path").sep\n')
  // Whole seconds, which utimes sets exactly: the stamp check below restores it.
  const later = Math.floor(Date.now() / 1000) + 5
  utimesSync(file, later, later)
  recompiledThenCached(t, file, 'missing')
  // Garbage after a valid stamp: V8 refuses it. (The bundle's text changes
  // too, keeping size and mtime, or V8 would take the function it compiled
  // above from its in-process cache without looking at the data.)
  const data = readFileSync(cacheFile())
  const stampEnd = data.indexOf(10) + 1
  writeFileSync(cacheFile(), Buffer.concat([data.subarray(0, stampEnd), Buffer.alloc(64, 7)]))
  writeFileSync(file, readFileSync(file, 'utf8').replace('x * 3', 'x *3 '))
  utimesSync(file, later, later)
  recompiledThenCached(t, file, 'stale')
  t.match(readdirSync(join(dir, 'cache', 'tspod', 'code')), [/^some-handler-[0-9a-f]{8}\.bin$/], 'one file, and no temporary file left')
  t.equal(readdirSync(join(dir, 'cache', 'tspod', 'code')).length, 1)
})

t.test('a cache file others may write is not used, and is made anew', async t => {
  const {file, cacheFile} = setup(t)
  loadBundle(file).saveCache()
  chmodSync(cacheFile(), 0o666)
  const shared = loadBundle(file)
  t.equal(shared.cache, 'missing')
  shared.saveCache()
  t.equal(statSync(cacheFile()).mode & 0o777, 0o600)
  t.equal(loadBundle(file).cache, 'used')
})

t.test('TSPOD_CODE_CACHE=0, or no cache directory, compiles from source and writes nothing', async t => {
  const {file, dir} = setup(t)
  process.env.TSPOD_CODE_CACHE = '0'
  const off = loadBundle(file)
  t.equal(off.cache, 'off')
  off.saveCache()
  t.throws(() => readdirSync(join(dir, 'cache')))
  delete process.env.TSPOD_CODE_CACHE
  writeFileSync(join(dir, 'cache'), 'not a directory')
  const blocked = loadBundle(file)
  t.equal(blocked.cache, 'missing')
  t.doesNotThrow(() => blocked.saveCache(), 'an unwritable cache is no error')
})

t.test('stack traces keep the bundle\'s file and line numbers', async t => {
  const {file} = setup(t)
  writeFileSync(file, '"use strict";\n\nexports.default = () => { throw new Error("boom") }\n')
  const bundle = loadBundle(file)
  const err = t.throws(() => (bundle.exports.default as () => void)()) as Error
  t.match(err.stack, `${file}:3:`)
})
