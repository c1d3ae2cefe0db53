import t from 'tap'
import {podMatches, podSummary, type ListedPod} from '../../../src/pod/pod-report.js'
import type {ContainerRecord, ContainerState} from '../../../src/container/container-store.js'

const member = (id: string, name: string, status: ContainerState['status'], infra = false) => ({
  record: {id, name, infra} as unknown as ContainerRecord,
  state: {status, restartCount: 0} as ContainerState,
})

const listed: ListedPod = {
  pod: {id: 'abc123', name: 'web', created: '2026-01-01T00:00:00Z', hostname: 'web', labels: {app: 'shop', tier: ''}, share: ['net'], infraId: 'f00', exitPolicy: 'continue', createCommand: []},
  members: [member('f00', 'abc123-infra', 'running', true), member('b4r', 'srv', 'exited')],
  status: 'Degraded',
}

t.test('podMatches', async t => {
  t.ok(podMatches(listed, 'name=^we'))
  t.notOk(podMatches(listed, 'name=^x'))
  t.ok(podMatches(listed, 'id=abc'))
  t.ok(podMatches(listed, 'label=app=shop'))
  t.ok(podMatches(listed, 'label=tier'))
  t.notOk(podMatches(listed, 'label=app=other'))
  t.ok(podMatches(listed, 'status=degraded'))
  t.notOk(podMatches(listed, 'status=running'))
  t.ok(podMatches(listed, 'ctr-names=srv'))
  t.ok(podMatches(listed, 'ctr-ids=b4'))
  t.ok(podMatches(listed, 'ctr-status=exited'))
  t.ok(podMatches(listed, 'ctr-number=2'))
  t.throws(() => podMatches(listed, 'status=bogus'), {message: /status must be one of created, running/})
  t.throws(() => podMatches(listed, 'color=red'), {message: 'invalid filter "color"'})
  t.throws(() => podMatches(listed, 'name'), {message: 'invalid filter "name": expected KEY=VALUE'})
})

t.test('podSummary has Podman\'s pod ps JSON shape', async t => {
  const summary = podSummary(listed)
  t.same(Object.keys(summary), ['Cgroup', 'Containers', 'Created', 'Id', 'InfraId', 'Name', 'Namespace', 'Networks', 'Status', 'Labels'])
  t.same(summary.Containers, [{Id: 'f00', Names: 'abc123-infra', Status: 'running'}, {Id: 'b4r', Names: 'srv', Status: 'exited'}])
})
