import t from 'tap'
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {CONTAINER_INIT_PATHS, changesReport, layerChanges} from '../../../src/container/diff.js'

const isRoot = process.getuid?.() === 0
const hasAttr = spawnSync('setfattr', ['--version']).status === 0

function tree(base: string, files: Record<string, string | null>): string {
  mkdirSync(base, {recursive: true})
  for (const [path, content] of Object.entries(files)) {
    const full = join(base, path)
    if (content === null) mkdirSync(full, {recursive: true})
    else {
      mkdirSync(join(full, '..'), {recursive: true})
      writeFileSync(full, content)
    }
  }
  return base
}

t.test('layerChanges reports A, C and D as Podman does', {skip: isRoot ? false : 'needs root to make overlay whiteouts (char 0:0)'}, async t => {
  const base = mkdtempSync(join(tmpdir(), 'tspod-diff-'))
  t.teardown(() => rmSync(base, {recursive: true, force: true}))
  const lower = tree(join(base, 'lower'), {'etc/passwd': 'x', 'etc/group': 'x', 'etc/untouched': 'x', 'var/lib/x': 'x', 'usr/bin/sh': 'x', 'opt/old/file': 'x'})
  const upper = tree(join(base, 'upper'), {'etc/passwd': 'changed', 'newfile': 'x', 'var/new/sub/f': 'x', 'run/.containerenv': '', 'etc/hosts': '', 'usr': null, 'opt/old/fresh': 'x'})
  spawnSync('mknod', [join(upper, 'etc', 'group'), 'c', '0', '0'])
  chmodSync(join(upper, 'usr'), 0o700) // a copied-up directory whose mode changed
  if (hasAttr) spawnSync('setfattr', ['-n', 'user.overlay.opaque', '-v', 'y', join(upper, 'opt', 'old')])
  const changes = await layerChanges(upper, lower, CONTAINER_INIT_PATHS)
  const expected = [
    'C /etc',
    'D /etc/group',
    'C /etc/passwd',
    'A /newfile',
    'C /opt',
    'C /opt/old',
    'A /opt/old/fresh',
    'C /usr',
    'C /var',
    'A /var/new',
    'A /var/new/sub',
    'A /var/new/sub/f',
  ]
  t.same(changes.map(c => `${c.kind} ${c.path}`), expected, 'mount points the runtime made are left out; dirs only with changes')
  t.same(changesReport(changes).deleted, ['/etc/group'])
  t.same(changesReport([{kind: 'A', path: '/x'}]), {changed: undefined, added: ['/x'], deleted: undefined})
})

t.test('with nothing below, everything is added', async t => {
  const base = mkdtempSync(join(tmpdir(), 'tspod-diff-'))
  t.teardown(() => rmSync(base, {recursive: true, force: true}))
  const upper = tree(join(base, 'upper'), {'bin/sh': 'x'})
  t.same((await layerChanges(upper, undefined)).map(c => `${c.kind} ${c.path}`), ['A /bin', 'A /bin/sh'])
})
