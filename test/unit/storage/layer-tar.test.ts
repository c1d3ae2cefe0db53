import t from 'tap'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  isCarriedXattr,
  parseXattrDump,
  quoteDumpPath,
  readXattrs,
  runBatched,
  setXattrs,
  unquoteDumpPath,
} from '../../../src/storage/layer-tar.js'

const hasAttr = spawnSync('setfattr', ['--version']).status === 0

function tempDir(t: {teardown(fn: () => void): void}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-layer-tar-'))
  t.teardown(() => spawnSync('rm', ['-rf', dir]))
  return dir
}

t.test('isCarriedXattr keeps user xattrs and file capabilities only', async t => {
  t.ok(isCarriedXattr('user.mime_type'))
  t.ok(isCarriedXattr('security.capability'))
  t.notOk(isCarriedXattr('user.overlay.opaque'), 'overlay metadata is never carried')
  t.notOk(isCarriedXattr('trusted.overlay.opaque'))
  t.notOk(isCarriedXattr('security.selinux'))
  t.notOk(isCarriedXattr('system.posix_acl_access'))
})

t.test('dump paths are quoted and unquoted byte for byte', async t => {
  for (const path of ['/plain/path', '/with space', '/tab\tand\nnewline', '/back\\slash', '/ünïcödé', '/eq=sign', '/trailing ']) {
    const quoted = quoteDumpPath(path)
    t.notOk(/[\s]/.test(quoted), `no whitespace survives in ${JSON.stringify(quoted)}`)
    t.equal(unquoteDumpPath(quoted), path)
  }
  t.equal(unquoteDumpPath('/a\\134b'), '/a\\b', "getfattr's own escaping reads back")
  t.equal(unquoteDumpPath('/not\\9escape'), '/not\\9escape', 'a lone backslash stays')
})

t.test('parseXattrDump reads getfattr -d output', async t => {
  const dump = [
    '# file: /x/a\\040b',
    'user.one=0x6869',
    'security.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=',
    'user.text="quoted"',
    '',
    '# file: /x/c',
    'user.empty',
    '',
  ].join('\n')
  const parsed = parseXattrDump(dump)
  t.same([...parsed.keys()], ['/x/a b', '/x/c'])
  t.equal(parsed.get('/x/a b')?.get('user.one')?.toString(), 'hi')
  t.equal(parsed.get('/x/a b')?.get('security.capability')?.toString('hex'), '0100000200200000000000000000000000000000')
  t.equal(parsed.get('/x/a b')?.get('user.text')?.toString(), 'quoted')
  t.equal(parsed.get('/x/c')?.get('user.empty')?.length, 0)
})

t.test('setXattrs and readXattrs round-trip awkward names and binary values', {skip: hasAttr ? false : 'attr not installed'}, async t => {
  const dir = tempDir(t)
  const names = ['plain', 'sp ace', 'new\nline', 'back\\slash', 'ünï']
  for (const name of names) writeFileSync(join(dir, name), name)
  const value = Buffer.from([0, 1, 0x80, 0xff, 0x0a])
  const failure = await setXattrs(names.map(name => ({path: join(dir, name), name: 'user.test', value})))
  t.equal(failure, '')
  const read = await readXattrs(dir, msg => t.fail(msg))
  for (const name of names) t.same(read?.get(join(dir, name))?.get('user.test'), value, name)

  const partial = await setXattrs([{path: join(dir, 'absent'), name: 'user.test', value}])
  t.match(partial, /absent: No such file or directory/, 'failures come back as stderr')
})

t.test('runBatched spreads long argument lists over several processes', async t => {
  const dir = tempDir(t)
  const groups = Array.from({length: 3000}, (_, i) => [join(dir, `fifo-with-a-rather-long-name-${String(i).padStart(5, '0')}`)])
  await runBatched('mkfifo', ['--'], groups, 'creating FIFOs')
  t.equal(readdirSync(dir).length, 3000)
  await t.rejects(runBatched('mkfifo', ['--'], [[join(dir, 'no/such/dir/f')]], 'creating FIFOs'), {
    name: 'StorageError',
    message: /^creating FIFOs: mkfifo: .*No such file or directory/,
  })
  const path = process.env.PATH
  process.env.PATH = '/nonexistent'
  t.teardown(() => {
    process.env.PATH = path
  })
  await t.rejects(runBatched('mkfifo', [], [['x']], 'creating FIFOs'), {message: 'creating FIFOs: mkfifo not found', hint: 'apt-get install coreutils'})
})
