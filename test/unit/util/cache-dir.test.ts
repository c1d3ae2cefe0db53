import t from 'tap'
import {pathKey, userCacheDir} from '../../../src/util/cache-dir.js'

t.test('the cache directory follows XDG_CACHE_HOME, else HOME, and ignores relative paths', async t => {
  const saved = {XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, HOME: process.env.HOME}
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
  process.env.HOME = '/home/u'
  process.env.XDG_CACHE_HOME = '/x/cache'
  t.equal(userCacheDir(), '/x/cache/tspod')
  process.env.XDG_CACHE_HOME = 'relative/cache'
  t.equal(userCacheDir(), '/home/u/.cache/tspod')
  delete process.env.XDG_CACHE_HOME
  t.equal(userCacheDir(), '/home/u/.cache/tspod')
  process.env.HOME = 'relative'
  t.equal(userCacheDir(), undefined)
  delete process.env.HOME
  t.equal(userCacheDir(), undefined)
})

t.test('pathKey is short, stable and tells paths apart', async t => {
  t.match(pathKey('/usr/lib/tspod/dist/cli/handlers'), /^[0-9a-f]{8}$/)
  t.equal(pathKey('/a'), pathKey('/a'))
  t.not(pathKey('/a'), pathKey('/b'))
})
