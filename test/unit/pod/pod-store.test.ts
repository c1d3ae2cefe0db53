import t from 'tap'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {Store} from '../../../src/storage/store.js'
import {addPod, dropPod, findPod, latestPod, lookupPod, orphanPodDirs, podDir, readPodIndex, type PodRecord} from '../../../src/pod/pod-store.js'

function record(id: string, name: string, created = new Date().toISOString()): PodRecord {
  return {id, name, created, hostname: name, labels: {}, share: ['net', 'ipc', 'uts'], exitPolicy: 'continue', createCommand: []}
}

t.test('add, find, look up and drop pods', async t => {
  const dir = t.testdir()
  const store = Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'run'), driver: 'vfs'})
  t.same(readPodIndex(store), [], 'no index yet is no pods')
  const a = await addPod(store, 'alpha', (id, name) => record(id, name, '2026-01-01T00:00:00Z'))
  const b = await addPod(store, undefined, (id, name) => record(id, name, '2026-01-02T00:00:00Z'))
  t.match(a.id, /^[a-f0-9]{64}$/)
  t.match(b.name, /^[a-z]+_[a-z]+$/, 'a generated name when none is given')
  t.equal(findPod(store, 'alpha')?.id, a.id, 'by name')
  t.equal(findPod(store, a.id.slice(0, 10))?.id, a.id, 'by ID prefix')
  t.equal(findPod(store, 'beta'), undefined)
  t.equal(lookupPod(store, a.id).name, 'alpha')
  t.equal(latestPod(store).id, b.id)
  t.throws(() => lookupPod(store, 'nope'), {message: 'no pod with name or ID nope found: no such pod'})
  await t.rejects(addPod(store, 'alpha', (id, name) => record(id, name)), {message: /name "alpha" is in use by pod/})
  await t.rejects(addPod(store, '-bad', (id, name) => record(id, name)), {message: /pod name "-bad" is invalid/})
  await dropPod(store, a.id)
  t.equal(findPod(store, 'alpha'), undefined)
  t.notOk(existsSync(podDir(store, a.id)), 'its directory goes too')
  t.same(orphanPodDirs(store), [])
})

t.test('a failing prepare commits nothing', async t => {
  const dir = t.testdir()
  const store = Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'run'), driver: 'vfs'})
  await t.rejects(addPod(store, 'x', () => {
    throw new Error('boom')
  }), {message: 'boom'})
  t.same(readPodIndex(store), [])
})

t.test('a full ID, then a name, then an ID prefix', async t => {
  const dir = t.testdir()
  const store = Store.open({graphRoot: join(dir, 'root'), runRoot: join(dir, 'run'), driver: 'vfs'})
  const a = await addPod(store, undefined, (id, name) => record(id, name))
  // A pod named exactly like the other's full ID, and one named like its prefix.
  const byFullId = await addPod(store, undefined, (id, name) => record(id, name))
  const prefix = await addPod(store, a.id.slice(0, 8), (id, name) => record(id, name))
  t.equal(findPod(store, a.id)?.id, a.id, 'the full ID is that pod')
  t.equal(findPod(store, a.id.slice(0, 8))?.id, prefix.id, 'a name wins over an ID prefix')
  t.equal(findPod(store, byFullId.id.slice(0, 12))?.id, byFullId.id, 'a prefix no name matches is an ID')
})
