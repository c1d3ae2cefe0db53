import t from 'tap'
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {replaceFile, writeFileAtomic, writeFilesAtomicSync, isStaleTemp} from '../../../src/util/atomic.js'

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

t.test('writeFilesAtomicSync writes every file, in several directories, with its mode', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-atomic-'))
  mkdirSync(join(dir, 'sub'))
  writeFilesAtomicSync([
    {path: join(dir, 'a'), data: 'old'},
    {path: join(dir, 'sub', 'b'), data: 'b', mode: 0o600},
  ])
  writeFilesAtomicSync([{path: join(dir, 'a'), data: 'new'}])
  t.equal(readFileSync(join(dir, 'a'), 'utf8'), 'new')
  t.equal(readFileSync(join(dir, 'sub', 'b'), 'utf8'), 'b')
  t.equal(statSync(join(dir, 'sub', 'b')).mode & 0o777, 0o600)
  t.same(readdirSync(dir).sort(), ['a', 'sub'], 'no temporary file left')
  t.throws(() => writeFilesAtomicSync([{path: join(dir, 'c'), data: 'c'}, {path: join(dir, 'missing', 'd'), data: 'd'}]))
  t.same(readdirSync(dir).sort(), ['a', 'sub'], 'a failure leaves no temporary file either')
})

t.test('replaceFile replaces content without a temporary file left', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-atomic-'))
  await replaceFile(join(dir, 's'), 'running')
  await replaceFile(join(dir, 's'), 'stopping')
  t.equal(readFileSync(join(dir, 's'), 'utf8'), 'stopping')
  t.same(readdirSync(dir), ['s'])
})
