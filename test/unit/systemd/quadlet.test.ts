import t from 'tap'
import {generateQuadletUnits, type QuadletSource} from '../../../src/systemd/quadlet.js'
import {parseUnitFile, splitWords, quoteWord} from '../../../src/systemd/unit-file.js'

const tspod = '/opt/tspod/bin/tspod'
const gen = (sources: QuadletSource[]) => generateQuadletUnits(sources, {tspod})
const src = (path: string, text: string): QuadletSource => ({path: `/q/${path}`, text})
const line = (text: string, key: string) => text.split('\n').find(l => l.startsWith(`${key}=`))

t.test('unit file syntax: sections, comments, continuations, line numbers', async t => {
  const f = parseUnitFile('# c\n[Container]\n; c\nImage=a \\\n  b\nExec=x\n', '/f')
  t.same(f.sections[0].entries, [{key: 'Image', value: 'a b', line: 4}, {key: 'Exec', value: 'x', line: 6}])
  t.throws(() => parseUnitFile('Image=x\n', '/f'), /^\/f:1: "Image" is outside any section/)
  t.throws(() => parseUnitFile('[Container\n', '/f'), /^\/f:1: invalid section header/)
  t.throws(() => parseUnitFile('[Container]\nnonsense\n', '/f'), /^\/f:2: "nonsense" is not a Key=Value/)
  t.same(splitWords(`a "b c" 'd e' f\\ g`), ['a', 'b c', 'd e', 'f g'])
  t.equal(quoteWord('plain'), 'plain')
  t.equal(quoteWord('two words'), '"two words"')
  t.equal(quoteWord('100%'), '100%%', 'percent signs are not systemd specifiers')
})

t.test('a .container becomes a notify service running tspod', async t => {
  const {units, errors} = gen([src('web.container', '[Unit]\nDescription=Web\n[Container]\nImage=busybox\nExec=httpd -f\nPublishPort=8080:80\nEnvironment=A=1 "B=x y"\nUser=1000\nGroup=1000\n[Service]\nRestart=always\n[Install]\nWantedBy=default.target\n')])
  t.same(errors, [])
  t.equal(units[0].name, 'web.service')
  const text = units[0].text
  t.equal(line(text, 'ExecStart'), `ExecStart=${tspod} run --name=systemd-%N --cidfile=%t/%N.cid --replace --rm -d --sdnotify=conmon --publish=8080:80 --env=A=1 "--env=B=x y" --user=1000:1000 busybox httpd -f`)
  t.equal(line(text, 'ExecStop'), `ExecStop=${tspod} rm -v -f -i --cidfile=%t/%N.cid`)
  t.equal(line(text, 'Type'), 'Type=notify')
  t.match(text, /\[Unit\]\nDescription=Web\nSourcePath=\/q\/web.container/)
  t.ok(text.indexOf('Restart=always') > text.indexOf('ExecStart='), 'the user\'s [Service] lines come after ours')
  t.same(units[0].wantedBy, ['default.target'])
})

t.test('references to other quadlet files become names and dependencies', async t => {
  const {units, errors} = gen([
    src('app.container', '[Container]\nImage=base.image\nVolume=data.volume:/d:ro\nNetwork=net.network\n'),
    src('data.volume', '[Volume]\nVolumeName=mydata\n'),
    src('net.network', '[Network]\nSubnet=10.9.0.0/24\n'),
    src('base.image', '[Image]\nImage=registry.example/base:1\n'),
  ])
  t.same(errors, [])
  const app = units.find(u => u.name === 'app.service')!.text
  t.match(line(app, 'ExecStart'), / --volume=mydata:\/d:ro --network=systemd-net registry.example\/base:1$/)
  for (const dep of ['data-volume.service', 'net-network.service', 'base-image.service']) {
    t.match(app, `Requires=${dep}\n`)
    t.match(app, `After=${dep}\n`)
  }
  t.equal(line(units.find(u => u.name === 'data-volume.service')!.text, 'ExecStart'), `ExecStart=${tspod} volume create --ignore mydata`)
  t.equal(line(units.find(u => u.name === 'base-image.service')!.text, 'ExecStart'), `ExecStart=${tspod} image pull registry.example/base:1`)
})

t.test('every problem is an error with file:line, and good files still generate', async t => {
  const {units, errors} = gen([
    src('typo.container', '[Container]\nImage=x\nPublishPorts=80\n'),
    src('noimage.container', '[Container]\nExec=true\n'),
    src('missing.container', '[Container]\nImage=x\nNetwork=nope.network\n'),
    src('bool.container', '[Container]\nImage=x\nReadOnly=maybe\n'),
    src('ok.container', '[Container]\nImage=x\n'),
  ])
  t.same(units.map(u => u.name), ['ok.service'])
  t.same(errors.map(e => e.message), [
    '/q/typo.container:3: unsupported key "PublishPorts" in [Container]',
    '/q/noimage.container:1: no Image= key in [Container]',
    '/q/missing.container:3: nope.network is not a quadlet file in the search path',
    '/q/bool.container:3: ReadOnly=maybe is not a boolean',
  ])
  t.equal(errors[0].hint, 'Did you mean PublishPort=?')
})

t.test('a .pod and its members: the pod unit wants them, they bind to it', async t => {
  const {units, errors} = gen([
    src('app.pod', '[Pod]\nPublishPort=8080:80\nNetwork=back.network\n'),
    src('back.network', '[Network]\n'),
    src('web.container', '[Container]\nImage=x\nPod=app.pod\n'),
    src('loose.container', '[Container]\nImage=x\n'),
  ])
  t.same(errors, [])
  const pod = units.find(u => u.name === 'app-pod.service')!.text
  const web = units.find(u => u.name === 'web.service')!.text
  t.match(pod, /^Wants=web.service\nBefore=web.service$/m)
  t.notMatch(pod, /loose/, 'only the containers that name the pod')
  t.match(line(pod, 'ExecStartPre'), / --publish=8080:80 --network=systemd-back --name=systemd-app$/)
  t.match(web, /^BindsTo=app-pod.service\nAfter=app-pod.service$/m)
  t.match(line(web, 'ExecStart'), / --pod=systemd-app x$/)
})

t.test('a .kube file: kube play with a service container that notifies systemd, kube down after', async t => {
  const {units, errors} = gen([src('k.kube', '[Kube]\nYaml=k.yaml\nPublishPort=8080:80\nConfigMap=/etc/cm.yaml\nConfigMap=cm2.yaml\n')])
  t.same(errors, [])
  const text = units[0].text
  t.equal(units[0].name, 'k.service')
  t.equal(line(text, 'Type'), 'Type=notify')
  t.equal(line(text, 'ExecStart'), `ExecStart=${tspod} kube play --replace --service-container=true --publish=8080:80 --configmap=/etc/cm.yaml --configmap=/q/cm2.yaml /q/k.yaml`)
  t.equal(line(text, 'ExecStopPost'), `ExecStopPost=${tspod} kube down /q/k.yaml`)
})

t.test('Notify=true: the container itself says READY=1; AutoUpdate and health keys become flags', async t => {
  const {units, errors} = gen([src('n.container', '[Container]\nImage=x\nNotify=true\nAutoUpdate=registry\nHealthCmd=curl -f localhost\nHealthInterval=30s\nHealthOnFailure=kill\n')])
  t.same(errors, [])
  t.equal(line(units[0].text, 'ExecStart'), `ExecStart=${tspod} run --name=systemd-%N --cidfile=%t/%N.cid --replace --rm -d --sdnotify=container --label=io.containers.autoupdate=registry "--health-cmd=curl -f localhost" --health-interval=30s --health-on-failure=kill x`)
})
