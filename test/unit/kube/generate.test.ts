import t from 'tap'
import {parse, parseAllDocuments} from 'yaml'
import {buildKubeObjects, formatKubeYaml, toDnsLabel, type KubeGroup} from '../../../src/kube/generate.js'
import {parseKubeDocuments} from '../../../src/kube/documents.js'
import {planKube} from '../../../src/kube/plan.js'
import type {KubeObject} from '../../../src/kube/types.js'
import {validateKube} from '../../fixtures/kube-schemas/validate.js'
import {makeRecord} from '../../fixtures/kube-records.js'

const image = {Cmd: ['sh'], Env: ['PATH=/usr/bin:/bin']}

function webRecord() {
  return makeRecord('web', {
    cmd: ['sleep', '1000'],
    env: ['PATH=/usr/bin:/bin', 'container=tspod', 'HOSTNAME=x', 'TERM=xterm', 'HOME=/root', 'GREETING=hello world'],
    annotations: {'example.com/owner': 'team a'},
    restartPolicy: {name: 'always', maxRetries: 0},
    stdin: true,
    options: {
      env: ['GREETING=hello world'],
      labels: {tier: 'front', note: 'not a valid label value!'},
      publish: [{hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp'}, {hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp'}],
      volumes: ['/srv/data:/data:ro', 'cache:/cache', '/anon'],
      mounts: ['type=tmpfs,destination=/scratch'],
      tmpfs: ['/run/x:size=1m'],
      capAdd: ['CAP_NET_ADMIN'],
      capDrop: ['mknod'],
      privileged: false,
      readOnly: true,
      user: '1000:1000',
      memory: '64m',
      cpus: '0.5',
      workdir: '/work',
      hostname: 'webhost',
    },
  })
}

function group(records = [webRecord()]): KubeGroup {
  return {name: 'web-pod', labels: {}, created: '2026-01-02T03:04:05.000Z', podPorts: [], containers: records.map(record => ({record, image}))}
}

t.test('a container becomes a Pod with what it was given, not what it inherits', async t => {
  const {objects, warnings} = buildKubeObjects([group()], [], {type: 'pod', service: false, version: '0.1.0'})
  t.equal(objects.length, 1)
  const pod = objects[0] as KubeObject & {spec: any}
  t.same(validateKube('pod', pod), [])
  t.equal(pod.metadata.name, 'web-pod')
  t.same(pod.metadata.labels, {app: 'web-pod', tier: 'front'})
  t.same(pod.metadata.annotations, {'example.com/owner': 'team a'})
  t.match(warnings, [/label note is left out/])
  const c = pod.spec.containers[0]
  t.equal(c.name, 'web')
  t.equal(c.image, 'localhost/busybox:latest')
  t.same(c.args, ['sleep', '1000'])
  t.notOk('command' in c, 'the image entrypoint is kept')
  t.same(c.env, [{name: 'GREETING', value: 'hello world'}])
  t.same(c.ports, [{containerPort: 80, hostPort: 8080}, {containerPort: 53, hostPort: 5353, hostIP: '127.0.0.1', protocol: 'UDP'}])
  t.same(c.securityContext, {capabilities: {add: ['NET_ADMIN'], drop: ['MKNOD']}, readOnlyRootFilesystem: true, runAsUser: 1000, runAsGroup: 1000})
  t.same(c.resources, {limits: {memory: '64Mi', cpu: '500m'}})
  t.equal(c.workingDir, '/work')
  t.equal(c.stdin, true)
  t.same(c.volumeMounts.map((m: {mountPath: string}) => m.mountPath), ['/data', '/cache', '/anon', '/scratch', '/run/x'])
  t.same(pod.spec.volumes, [
    {name: 'srv-data-host', hostPath: {path: '/srv/data'}},
    {name: 'cache-pvc', persistentVolumeClaim: {claimName: 'cache'}},
    {name: 'anon-empty', emptyDir: {}},
    {name: 'scratch-tmpfs', emptyDir: {medium: 'Memory'}},
    {name: 'run-x-tmpfs', emptyDir: {medium: 'Memory'}},
  ])
  t.equal(pod.spec.restartPolicy, 'Always')
  t.equal(pod.spec.hostname, 'webhost')
})

t.test('deployments, daemon sets, jobs and services are valid Kubernetes objects', async t => {
  for (const type of ['pod', 'deployment', 'daemonset', 'job'] as const) {
    const {objects} = buildKubeObjects([group()], [], {type, service: true, version: '0.1.0', replicas: type === 'deployment' ? 3 : undefined})
    t.equal(objects.length, 2, `${type} and its service`)
    t.same(validateKube(type, objects[0]), [], `${type} validates`)
    t.same(validateKube('service', objects[1]), [], 'service validates')
    const spec = objects[0].spec as any
    if (type === 'deployment') t.equal(spec.replicas, 3)
    if (type === 'job') t.equal(spec.template.spec.restartPolicy, 'OnFailure')
    if (type !== 'pod') t.equal(spec.template.metadata.labels.app, 'web-pod')
  }
  const service = buildKubeObjects([group()], [], {type: 'pod', service: true, version: '0.1.0'}).objects[1] as any
  t.same(service.spec.ports, [{name: '80-tcp', port: 80, protocol: 'TCP', targetPort: 80}, {name: '53-udp', port: 53, protocol: 'UDP', targetPort: 53}])
  t.same(service.spec.selector, {app: 'web-pod'})
  t.throws(() => buildKubeObjects([group()], [], {type: 'pod', service: false, version: '0', replicas: 2}), {message: '--replicas is only used with --type=deployment'})
})

t.test('volumes become PersistentVolumeClaims', async t => {
  const volume = {Name: 'cache', Driver: 'local' as const, Mountpoint: '/x', CreatedAt: '2026-01-02T03:04:05Z', Labels: {a: 'b'}, Scope: 'local' as const, Options: {}, MountCount: 0, NeedsCopyUp: false, NeedsChown: false}
  const {objects} = buildKubeObjects([], [volume], {type: 'pod', service: false, version: '0'})
  t.same(validateKube('persistentvolumeclaim', objects[0]), [])
  t.equal(objects[0].metadata.name, 'cache')
})

t.test('the YAML has a header and one document per object, and parses back to the same objects', async t => {
  const {objects} = buildKubeObjects([group()], [], {type: 'pod', service: true, version: '9.9'})
  const text = formatKubeYaml(objects, '9.9')
  t.match(text, /^# Generated by tspod 9\.9\.\n# Kubernetes: kubectl create -f/)
  const docs = parseAllDocuments(text)
  t.same((docs as any[]).map(d => d.toJS()), JSON.parse(JSON.stringify(objects)))
  t.equal(parse(text.split('---\n')[1]!).kind, 'Service')
})

t.test('round trip: generated YAML plans back to the same containers', async t => {
  const record = webRecord()
  const text = formatKubeYaml(buildKubeObjects([group([record])], [], {type: 'pod', service: false, version: '0'}).objects, '0')
  const plan = planKube(parseKubeDocuments(text, 'gen.yaml'))
  t.same(plan.warnings, [])
  t.equal(plan.pods.length, 1)
  const pod = plan.pods[0]!
  t.equal(pod.name, 'web-pod')
  t.equal(pod.hostname, 'webhost')
  t.same(pod.publish, record.options.publish)
  const c = pod.containers[0]!
  t.equal(c.name, 'web-pod-web')
  t.equal(c.image, 'localhost/busybox:latest')
  t.equal(c.restart, 'always')
  t.same(c.spec.command, ['sleep', '1000'])
  t.equal(c.spec.entrypoint, undefined)
  t.same(c.spec.env, ['GREETING=hello world'])
  t.same(c.spec.capAdd, ['NET_ADMIN'])
  t.same(c.spec.capDrop, ['MKNOD'])
  t.equal(c.spec.readOnly, true)
  t.equal(c.spec.user, '1000:1000')
  t.equal(c.spec.memory, String(64 * 2 ** 20))
  t.equal(c.spec.cpus, '0.5')
  t.equal(c.spec.workdir, '/work')
  t.equal(c.spec.stdin, true)
  t.same(c.spec.volumes, ['/srv/data:/data:ro', 'cache:/cache'])
  t.same(c.spec.tmpfs, ['/anon', '/scratch', '/run/x'])
  t.same(c.spec.annotations, {'example.com/owner': 'team a'})
  t.same(c.spec.labels, {app: 'web-pod', tier: 'front'})
})

t.test('pod members lose the pod prefix; the pod\'s ports go on its first container', async t => {
  const a = makeRecord('shop-api', {cmd: ['sh'], pod: 'p'})
  const b = makeRecord('shop-db', {cmd: ['sh'], pod: 'p'})
  const g: KubeGroup = {name: 'shop', hostname: 'shophost', labels: {env: 'dev'}, created: a.created, podPorts: [{hostIp: '', hostPort: 9000, containerPort: 90, protocol: 'tcp'}], memberPrefix: 'shop-', containers: [{record: a, image}, {record: b, image}]}
  const pod = buildKubeObjects([g], [], {type: 'pod', service: false, version: '0'}).objects[0] as any
  t.same(validateKube('pod', pod), [])
  t.same(pod.spec.containers.map((c: {name: string}) => c.name), ['api', 'db'])
  t.same(pod.spec.containers[0].ports, [{containerPort: 90, hostPort: 9000}])
  t.notOk(pod.spec.containers[1].ports)
  t.equal(pod.spec.hostname, 'shophost')
  t.same(pod.metadata.labels, {app: 'shop', env: 'dev'})
})

t.test('names become DNS labels', async t => {
  t.equal(toDnsLabel('My_App.v2'), 'my-app-v2')
  t.equal(toDnsLabel('__'), 'x')
  t.equal(toDnsLabel('a'.repeat(80)).length, 63)
})
