import t from 'tap'
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {readTomlFile} from '../../../src/config/toml-file.js'

t.test('parsed files are cached and the cache follows the file', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-toml-cache-'))
  const saved = process.env.XDG_CACHE_HOME
  process.env.XDG_CACHE_HOME = join(dir, 'cache')
  t.teardown(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME
    else process.env.XDG_CACHE_HOME = saved
  })
  const file = join(dir, 'containers.conf')
  writeFileSync(file, '[containers]\npids_limit = 100\n')
  t.same(readTomlFile(file), {containers: {pids_limit: 100}})
  t.equal(readdirSync(join(dir, 'cache', 'tspod', 'toml')).length, 1, 'a cache entry was written')
  t.same(readTomlFile(file), {containers: {pids_limit: 100}}, 'read back from the cache')
  writeFileSync(file, '[containers]\npids_limit = 2000\n')
  t.same(readTomlFile(file), {containers: {pids_limit: 2000}}, 'a changed file is parsed again')
  const dated = join(dir, 'dated.conf')
  writeFileSync(dated, 'when = 1979-05-27T07:32:00Z\n')
  const parsed = readTomlFile(dated)
  t.ok(parsed?.when instanceof Date, 'dates stay dates')
  t.equal(readdirSync(join(dir, 'cache', 'tspod', 'toml')).length, 1, 'a table with a date is not cached')
})
