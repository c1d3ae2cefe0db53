import t from 'tap'
import {rangeStart, selectPlatform} from '../../../src/registry/pull.js'
import {pushDestination} from '../../../src/registry/push.js'
import {normalizeLoginKey} from '../../../src/registry/login.js'
import type {ImageIndexManifest} from '../../../src/image/oci.js'
import {hostPlatform} from '../../../src/image/oci.js'

const entry = (architecture: string, variant?: string, os = 'linux') => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${architecture}${variant ?? ''}`.padEnd(71, '0'),
  size: 1,
  platform: {os, architecture, ...(variant ? {variant} : {})},
})

const index: ImageIndexManifest = {
  schemaVersion: 2,
  manifests: [entry('amd64'), entry('arm', 'v6'), entry('arm', 'v7'), entry('arm64', 'v8'), entry('amd64', undefined, 'windows')],
}

t.test('selectPlatform picks the host by default and honours os/arch/variant', async t => {
  t.equal(selectPlatform(index, undefined, 'x').platform?.architecture, hostPlatform().architecture)
  t.equal(selectPlatform(index, {architecture: 'arm', variant: 'v7'}, 'x').platform?.variant, 'v7')
  t.equal(selectPlatform(index, {architecture: 'arm64'}, 'x').platform?.variant, 'v8')
  t.equal(selectPlatform(index, {os: 'windows', architecture: 'amd64'}, 'x').platform?.os, 'windows')
  t.throws(() => selectPlatform(index, {architecture: 's390x'}, 'reg/x:1'), /reg\/x:1: no image for platform linux\/s390x in the manifest list \(it has linux\/amd64, linux\/arm\/v6/)
})

t.test('pushDestination qualifies like Podman and takes only docker://', async t => {
  t.same(pushDestination('docker://localhost:5000/a/b'), {domain: 'localhost:5000', path: 'a/b', tag: 'latest'})
  t.same(pushDestination('quay.io/a/b:1'), {domain: 'quay.io', path: 'a/b', tag: '1'})
  t.same(pushDestination('busybox'), {domain: 'docker.io', path: 'library/busybox', tag: 'latest'})
  t.throws(() => pushDestination('oci-archive:/tmp/x.tar'), /only the docker:\/\/ transport/)
})

t.test('normalizeLoginKey strips schemes and refuses tags', async t => {
  t.equal(normalizeLoginKey('https://quay.io/'), 'quay.io')
  t.equal(normalizeLoginKey('index.docker.io'), 'docker.io')
  t.equal(normalizeLoginKey('localhost:5000/ns'), 'localhost:5000/ns')
  t.throws(() => normalizeLoginKey('quay.io/a/b:1'), /not for a tag or digest/)
})

t.test('rangeStart reads where a 206 answer begins', async t => {
  t.equal(rangeStart('bytes 1000-1999/2000'), 1000)
  t.equal(rangeStart('bytes 0-9/*'), 0)
  t.equal(rangeStart(null), undefined)
  t.equal(rangeStart('bytes */2000'), undefined, 'a 416 answer names no start')
})
