import t from 'tap'
import {parseKubeDocuments} from '../../../src/kube/documents.js'
import {planKube, teardownOf} from '../../../src/kube/plan.js'

const plan = (text: string, configMaps = '') => planKube(parseKubeDocuments(text, 'k.yaml'), {configMaps: configMaps ? parseKubeDocuments(configMaps, 'cm.yaml') : []})

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: duo
  labels: {tier: test}
  annotations: {note: hi}
spec:
  restartPolicy: OnFailure
  hostname: duohost
  terminationGracePeriodSeconds: 2
  securityContext: {runAsUser: 1000}
  containers:
  - name: one
    image: busybox
    command: [sh, -c]
    args: [sleep 1000]
    imagePullPolicy: Never
    livenessProbe:
      exec: {command: ["true"]}
    env:
    - {name: A, value: "1"}
    - name: B
      valueFrom: {configMapKeyRef: {name: cfg, key: b}}
    - name: PW
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    envFrom:
    - configMapRef: {name: cfg}
      prefix: CFG_
    - secretRef: {name: creds}
    ports:
    - {containerPort: 80, hostPort: 8080}
    - {containerPort: 81}
    resources:
      limits: {memory: 128Mi, cpu: 250m}
      requests: {memory: 64Mi}
    securityContext:
      capabilities: {add: [NET_ADMIN]}
      runAsGroup: 5
    volumeMounts:
    - {name: host, mountPath: /h, readOnly: true}
    - {name: claim, mountPath: /c}
    - {name: scratch, mountPath: /s}
    - {name: cm, mountPath: /cm}
  - name: two
    image: busybox
  volumes:
  - {name: host, hostPath: {path: /srv, type: DirectoryOrCreate}}
  - {name: claim, persistentVolumeClaim: {claimName: data}}
  - {name: scratch, emptyDir: {}}
  - {name: cm, configMap: {name: cfg}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {b: bee, c: sea}
`

t.test('a Pod with two containers: every supported field is mapped', async t => {
  const p = plan(POD)
  t.equal(p.pods.length, 1)
  const pod = p.pods[0]!
  t.equal(pod.name, 'duo')
  t.equal(pod.hostname, 'duohost')
  t.same(pod.labels, {tier: 'test'})
  t.same(pod.publish, [{hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp'}])
  t.same(pod.claims, ['data'])
  t.same(pod.hostPaths.map(h => [h.path, h.type]), [['/srv', 'DirectoryOrCreate']])
  t.same(pod.containers.map(c => c.name), ['duo-one', 'duo-two'])
  const [one, two] = pod.containers
  t.equal(one!.pull, 'never')
  t.equal(one!.restart, 'on-failure')
  t.equal(one!.stopTimeout, 2)
  t.same(one!.spec.entrypoint, ['sh', '-c'])
  t.same(one!.spec.command, ['sleep 1000'])
  t.same(one!.spec.env, ['CFG_b=bee', 'CFG_c=sea', 'A=1', 'B=bee'])
  t.same(one!.secretEnv.map(s => [s.secret, s.key, s.target]), [['creds', undefined, ''], ['creds', 'password', 'PW']])
  t.equal(one!.spec.memory, String(128 * 2 ** 20))
  t.equal(one!.spec.cpus, '0.25')
  t.same(one!.spec.capAdd, ['NET_ADMIN'])
  t.equal(one!.spec.user, '1000:5')
  t.same(one!.spec.volumes, ['/srv:/h:ro', 'data:/c'])
  t.same(one!.spec.tmpfs, ['/s'])
  t.same(one!.spec.annotations, {note: 'hi'})
  t.equal(two!.spec.entrypoint, undefined)
  t.equal(two!.spec.command, undefined)
  t.equal(two!.pull, 'missing')
})

t.test('unsupported fields are warned by path and position, never dropped silently', async t => {
  const p = plan(POD)
  t.same(p.warnings, [
    'k.yaml:18:5: spec.containers[0].livenessProbe is not supported by tspod: ignored',
    'k.yaml:35:7: spec.containers[0].resources.requests is not supported by tspod: ignored',
    'k.yaml:50:16: spec.volumes[3].configMap is not supported by tspod: ignored',
    'k.yaml:43:7: volume cm is of a kind tspod does not support: /cm is not mounted',
  ])
  const other = plan('apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: "1"}\nspec:\n  containers: [{name: c, image: i}]\nstatus: {phase: Running}\n')
  t.same(other.warnings, [
    'k.yaml:2:1: kind Service is not supported by tspod kube play: document 1 is ignored',
    'k.yaml:7:21: metadata.uid is not supported by tspod: ignored',
    'k.yaml:10:1: status is not supported by tspod: ignored',
  ])
})

t.test('ConfigMaps may come from --configmap files', async t => {
  const text = POD.split('---')[0]!
  t.throws(() => plan(text), {message: /^k\.yaml:\d+:\d+: ConfigMap "cfg" not found$/})
  const p = plan(text, 'kind: ConfigMap\nmetadata: {name: cfg}\ndata: {b: from-file}\n')
  t.same(p.pods[0]!.containers[0]!.spec.env, ['CFG_b=from-file', 'A=1', 'B=from-file'])
})

t.test('deployments make one pod per replica; jobs and daemon sets one', async t => {
  const workload = (kind: string, extra = '') => `apiVersion: apps/v1\nkind: ${kind}\nmetadata: {name: w}\nspec:\n${extra}  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w}}\n    spec:\n      containers: [{name: c, image: i}]\n`
  t.same(plan(workload('Deployment', '  replicas: 3\n')).pods.map(p => p.name), ['w-pod-0', 'w-pod-1', 'w-pod-2'])
  t.same(plan(workload('Deployment')).pods.map(p => p.name), ['w-pod'])
  t.same(plan(workload('DaemonSet')).pods.map(p => p.name), ['w-pod'])
  const job = plan(workload('Job').replace('  selector: {matchLabels: {app: w}}\n', ''))
  t.same(job.pods.map(p => [p.name, p.containers[0]!.restart, p.labels]), [['w-pod', 'on-failure', {app: 'w'}]])
  t.same(plan(workload('Deployment')).pods[0]!.containers[0]!.restart, 'always')
})

t.test('wrong values are errors that name their place', async t => {
  t.throws(() => plan('kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    ports: [{containerPort: http}]\n'), {message: /^k\.yaml:7:13: containerPort must be a whole number from 1 to 65535, not "http"$/})
  t.throws(() => plan('kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    command: sh -c true\n'), {message: 'k.yaml:7:5: spec.containers[0].command: expected a list, found a string'})
  t.throws(() => plan('kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n'), {message: /container c has no image/})
  t.throws(() => plan('kind: Pod\nmetadata: {}\nspec:\n  containers: [{name: c, image: i}]\n'), {message: 'k.yaml:2:1: Pod has no metadata.name'})
  t.throws(() => plan('kind: Pod\nmetadata: {name: p}\nspec:\n  restartPolicy: Sometimes\n  containers: [{name: c, image: i}]\n'), {message: /restartPolicy must be Always, OnFailure or Never, not Sometimes/})
  t.throws(() => plan('kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, volumeMounts: [{name: v, mountPath: /v}]}]\n'), {message: /names volume "v", which spec.volumes does not define/})
  t.throws(() => plan('metadata: {name: p}\n'), {message: 'k.yaml:1:1: the document has no kind'})
})

t.test('init containers run once, before the others', async t => {
  const p = plan('kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: setup, image: i, command: [true]}]\n  containers: [{name: c, image: i}]\n')
  t.same(p.pods[0]!.initContainers.map(c => [c.name, c.restart, c.spec.entrypoint]), [['p-setup', 'no', ['true']]])
  t.throws(() => plan('kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: c, image: i}]\n  containers: [{name: c, image: i}]\n'), {message: /two containers are named c/})
})

t.test('Secrets: base64 data and stringData', async t => {
  const p = plan('apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ndata: {password: aHVudGVyMg==}\nstringData: {user: admin}\n')
  t.same(p.secrets.map(s => [s.name, Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v.toString()]))]), [['creds', {password: 'hunter2', user: 'admin'}]])
  t.throws(() => plan('kind: Secret\nmetadata: {name: s}\ndata: {k: "not base64!"}\n'), {message: /data\.k of Secret s is not base64/})
})

t.test('kube down finds pods, claims and secrets by name', async t => {
  const docs = parseKubeDocuments(`${POD}---\nkind: PersistentVolumeClaim\nmetadata: {name: other}\n---\nkind: Secret\nmetadata: {name: creds}\n---\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 2}\n`, 'k.yaml')
  t.same(teardownOf(docs), {pods: ['duo', 'd-pod-0', 'd-pod-1'], claims: ['data', 'other'], secrets: ['creds']})
})
