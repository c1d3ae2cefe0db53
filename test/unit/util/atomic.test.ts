import t from 'tap'
import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {writeFileAtomic, isStaleTemp} from '../../../src/util/atomic.js'

t.test('writeFileAtomic replaces content and leaves no temp file', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-atomic-'))
  const p = join(dir, 'f.json')
  await writeFileAtomic(p, 'one')
  await writeFileAtomic(p, 'two')
  t.equal(readFileSync(p, 'utf8'), 'two')
  t.same(readdirSync(dir), ['f.json'])
})

t.test('isStaleTemp recognises a dead writer', async t => {
  t.equal(isStaleTemp(`.tmp-${process.pid}-1-x`), false)
  t.equal(isStaleTemp('.tmp-999999999-1-x'), true)
  t.equal(isStaleTemp('plain'), false)
})
