import t from 'tap'
import {classifyExecFailure, mayBeRuntimeFailure, mergeEnvironment, runtimeExecArgs, runtimeMessage} from '../../../src/container/exec.js'

t.test('mergeEnvironment: overrides keep the first position and take the last value', async t => {
  t.same(mergeEnvironment(['PATH=/bin', 'HOME=/root', 'A=1'], ['A=2', 'B=x=y', 'PATH=/usr/bin']), ['PATH=/usr/bin', 'HOME=/root', 'A=2', 'B=x=y'])
  t.same(mergeEnvironment(['A=1'], ['=bad', 'noequals']), ['A=1'], 'entries without a name are dropped')
})

t.test('runtimeExecArgs', async t => {
  const base = {runtimePath: '/usr/bin/crun', stateDir: '/run/r', id: 'abc', command: ['sh', '-c', 'x'], env: ['A=1'], cwd: '/w', tty: false, detach: false, capabilities: []}
  t.same(runtimeExecArgs(base), ['/usr/bin/crun', '--root', '/run/r', 'exec', '--env', 'A=1', '--cwd', '/w', 'abc', 'sh', '-c', 'x'])
  t.same(
    runtimeExecArgs({...base, tty: true, detach: true, user: '1000:1000', capabilities: ['CAP_CHOWN'], logFile: '/run/l'}),
    ['/usr/bin/crun', '--root', '/run/r', '--log=/run/l', 'exec', '--tty', '--detach', '--env', 'A=1', '--cwd', '/w', '--user', '1000:1000', '--cap', 'CAP_CHOWN', 'abc', 'sh', '-c', 'x'],
  )
})

t.test('runtime failures become Podman messages and exit codes', async t => {
  const crunNotFound = 'executable file `nosuch` not found in $PATH: No such file or directory\n'
  const e1 = classifyExecFailure('crun', crunNotFound)
  t.equal(e1.message, 'crun: executable file `nosuch` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found')
  t.equal(e1.exitCode, 127)
  const runcNotFound = 'time="2026-11-22T12:05:59Z" level=error msg="exec failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH"\n'
  const e2 = classifyExecFailure('runc', runcNotFound)
  t.equal(e2.message, 'runc: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: OCI runtime attempted to invoke a command that was not found')
  t.equal(e2.exitCode, 127)
  const e3 = classifyExecFailure('crun', 'open executable: Permission denied')
  t.equal(e3.message, 'crun: open executable: Permission denied: OCI permission denied')
  t.equal(e3.exitCode, 126)
  t.equal(classifyExecFailure('crun', 'open executable: Operation not permitted').exitCode, 126)
  t.equal(classifyExecFailure('crun', 'something else broke').message, 'crun: something else broke: OCI runtime error')
  // crun relaying a terminal colours its message and puts a timestamp first.
  t.equal(runtimeMessage('\x1b[1;31m2026-11-22T13:02:43.013924Z: executable file `x` not found in $PATH: No such file or directory\x1b[0m\n'), 'executable file `x` not found in $PATH: No such file or directory')
})

t.test('mayBeRuntimeFailure holds back only lines that could be the runtime\'s', async t => {
  t.ok(mayBeRuntimeFailure('executable file `nosuch` not found in $PATH: No such file or directory\n'))
  t.ok(mayBeRuntimeFailure('time="x" level=error msg="exec failed: chdir to cwd"\n'))
  t.ok(mayBeRuntimeFailure('chdir `/nonexist`: No such file or directory\n'))
  t.notOk(mayBeRuntimeFailure('hello world\n'))
  t.notOk(mayBeRuntimeFailure('$ '))
})
