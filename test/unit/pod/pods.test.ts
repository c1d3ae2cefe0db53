import t from 'tap'
import {parseShare, podStatus} from '../../../src/pod/pods.js'
import type {ContainerState} from '../../../src/container/container-store.js'

t.test('parseShare', async t => {
  t.same(parseShare(undefined), ['net', 'ipc', 'uts'], 'Podman\'s default')
  t.same(parseShare('ipc'), ['ipc'])
  t.same(parseShare('net,pid,net'), ['net', 'pid'], 'each once')
  t.same(parseShare('+pid'), ['net', 'ipc', 'uts', 'pid'], '+ adds to the default')
  t.same(parseShare('none'), [])
  t.same(parseShare(''), [])
  t.same(parseShare('cgroup,uts'), ['uts'], 'cgroup is accepted and has no effect')
  t.throws(() => parseShare('user'), {message: 'invalid kernel namespace to share: user: options are cgroup, ipc, net, pid, uts or none'})
})

t.test('podStatus follows Podman', async t => {
  const s = (status: ContainerState['status']): ContainerState => ({status, restartCount: 0})
  t.equal(podStatus([]), 'Created')
  t.equal(podStatus([s('created'), s('created')]), 'Created')
  t.equal(podStatus([s('running'), s('running')]), 'Running')
  t.equal(podStatus([s('running'), s('exited')]), 'Degraded')
  t.equal(podStatus([s('paused'), s('paused')]), 'Paused')
  t.equal(podStatus([s('exited'), s('exited')]), 'Exited')
  t.equal(podStatus([s('exited'), s('created')]), 'Stopped')
})
