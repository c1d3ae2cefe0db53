import t from 'tap'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {lookupCache, recordCache, stepCacheKey} from '../../../src/build/cache.js'
import {Store} from '../../../src/storage/store.js'

t.test('stepCacheKey is stable and sensitive to every input', async t => {
  const base = {parent: 'p', instruction: 'RUN x', contents: ['sha256:a'], settings: {format: 'oci', epoch: 0}}
  const key = stepCacheKey(base)
  t.match(key, /^sha256:[0-9a-f]{64}$/)
  t.equal(stepCacheKey({...base, settings: {epoch: 0, format: 'oci'}}), key, 'settings order does not matter')
  t.not(stepCacheKey({...base, parent: 'q'}), key)
  t.not(stepCacheKey({...base, instruction: 'RUN y'}), key)
  t.not(stepCacheKey({...base, contents: ['sha256:b']}), key)
  t.not(stepCacheKey({...base, settings: {format: 'docker', epoch: 0}}), key)
  t.not(stepCacheKey({parent: 'p', instruction: 'RUN x'}), stepCacheKey({parent: 'p', instruction: 'RUN x', contents: ['']}))
})

t.test('the cache answers only for images the store still has', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-cache-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const store = Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'run'), driver: 'overlay'})
  const key = stepCacheKey({parent: 'p', instruction: 'COPY a /'})
  const id = 'a'.repeat(64)
  t.equal(lookupCache(store, key), undefined, 'nothing recorded')
  await recordCache(store, key, id)
  t.equal(lookupCache(store, key), undefined, 'the image is not in the store')
  await store.writeImages([{id, names: [], digest: 'sha256:m', digests: ['sha256:m'], manifestMediaType: 'x', layers: [], size: 0, created: '', added: ''}])
  t.equal(lookupCache(store, key), id)
  await store.writeImages([{id, names: [], digest: 'sha256:m', digests: ['sha256:m'], manifestMediaType: 'x', layers: [`sha256:${'b'.repeat(64)}`], size: 0, created: '', added: ''}])
  t.equal(lookupCache(store, key), undefined, 'a missing layer makes it a miss')
})

t.test('with a maximum age (--cache-ttl), an entry recorded longer ago is a miss', async t => {
  const {utimesSync} = await import('node:fs')
  const dir = mkdtempSync(join(tmpdir(), 'tspod-cache-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const store = Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'run'), driver: 'overlay'})
  const key = stepCacheKey({parent: 'p', instruction: 'RUN x'})
  const id = 'c'.repeat(64)
  await store.writeImages([{id, names: [], digest: 'sha256:m', digests: ['sha256:m'], manifestMediaType: 'x', layers: [], size: 0, created: '', added: ''}])
  await recordCache(store, key, id)
  t.equal(lookupCache(store, key, 60_000), id, 'recorded just now')
  const hourAgo = (Date.now() - 3_600_000) / 1000
  utimesSync(join(store.graphRoot, 'build-cache', key.slice(7)), hourAgo, hourAgo)
  t.equal(lookupCache(store, key, 60_000), undefined, 'older than a minute')
  t.equal(lookupCache(store, key, 7_200_000), id, 'younger than two hours')
  t.equal(lookupCache(store, key), id, 'no maximum: any age')
})
