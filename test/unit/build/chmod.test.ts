import t from 'tap'
import {applyChmod, parseChmod} from '../../../src/build/chmod.js'
import {DockerfileError} from '../../../src/build/dockerfile-error.js'

t.test('octal modes', async t => {
  t.same(parseChmod('755'), {kind: 'octal', mode: 0o755})
  t.same(parseChmod('0644'), {kind: 'octal', mode: 0o644})
  t.same(parseChmod('4755'), {kind: 'octal', mode: 0o4755})
  t.equal(applyChmod(parseChmod('600'), 0o777, false), 0o600)
  t.throws(() => parseChmod('17777'), DockerfileError)
  t.throws(() => parseChmod('0899'), DockerfileError)
})

t.test('symbolic modes as chmod(1) applies them', async t => {
  const cases: [string, number, boolean, number][] = [
    ['u=rwx,go=rx', 0o600, false, 0o755],
    ['+x', 0o644, false, 0o755],
    ['a-w', 0o666, false, 0o444],
    ['go-rwx', 0o755, false, 0o700],
    ['u+s', 0o755, false, 0o4755],
    ['g+s,o+t', 0o755, true, 0o3755],
    ['a+X', 0o644, false, 0o644],
    ['a+X', 0o644, true, 0o755],
    ['a+X', 0o744, false, 0o755],
    ['g=u', 0o640, false, 0o660],
    ['o=', 0o777, false, 0o770],
    ['u=rw,g=r,o=', 0o777, false, 0o640],
    ['u+w-x', 0o544, false, 0o644],
    ['ug=rw', 0o4755, false, 0o665],
  ]
  for (const [spec, from, isDir, want] of cases) {
    t.equal(applyChmod(parseChmod(spec), from, isDir).toString(8), want.toString(8), `${spec} on ${from.toString(8)}${isDir ? ' (dir)' : ''}`)
  }
})

t.test('invalid modes say what to write', async t => {
  for (const bad of ['', 'rwx', 'u=rwz', 'z+x', 'u+x,', '0o755']) {
    t.throws(() => parseChmod(bad), {name: 'DockerfileError', message: /^invalid --chmod=/, hint: /--chmod=0755/}, JSON.stringify(bad))
  }
})
