import t from 'tap'
import {committedConfig, layerMediaType} from '../../../src/container/commit.js'
import type {ContainerRecord} from '../../../src/container/container-store.js'
import {MEDIA} from '../../../src/image/oci.js'

function record(fields: Partial<ContainerRecord>): ContainerRecord {
  return {env: [], cmd: [], entrypoint: [], workdir: '/', user: '', labels: {}, args: [], ...fields} as ContainerRecord
}

t.test('committedConfig: the container\'s settings over the parent\'s', async t => {
  const parent = {Env: ['PATH=/bin'], Cmd: ['sh'], Labels: {a: '1'}, StopSignal: 'SIGINT', ExposedPorts: {'80/tcp': {}}}
  const out = committedConfig(parent, record({
    env: ['PATH=/usr/bin:/bin', 'container=tspod', 'HOSTNAME=abc', 'HOME=/root', 'FOO=bar'],
    cmd: ['sleep', '1'],
    entrypoint: ['/init'],
    workdir: '/srv',
    user: 'tester',
    labels: {b: '2'},
  }))
  t.same(out, {
    Env: ['PATH=/usr/bin:/bin', 'FOO=bar'],
    Cmd: ['sleep', '1'],
    Entrypoint: ['/init'],
    WorkingDir: '/srv',
    User: 'tester',
    Labels: {a: '1', b: '2'},
    StopSignal: 'SIGINT',
    ExposedPorts: {'80/tcp': {}},
  }, 'runtime-only variables (container, HOSTNAME, a derived HOME) are left out')
  const kept = committedConfig({Env: ['HOME=/data'], WorkingDir: '/app'}, record({env: ['HOME=/data'], workdir: '/app'}))
  t.same(kept, {Env: ['HOME=/data'], WorkingDir: '/app'}, 'a HOME the image set stays; no command: none')
})

t.test('layerMediaType converts between the formats', async t => {
  t.equal(layerMediaType(MEDIA.dockerLayerGzip, 'oci'), MEDIA.ociLayerGzip)
  t.equal(layerMediaType(MEDIA.ociLayer, 'docker'), MEDIA.dockerLayer)
  t.equal(layerMediaType(MEDIA.ociLayer, 'oci'), MEDIA.ociLayer)
  t.throws(() => layerMediaType(MEDIA.ociLayerZstd, 'docker'), /cannot be described in the docker format/)
})
