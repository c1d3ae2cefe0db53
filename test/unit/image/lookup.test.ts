import t from 'tap'
import {findImage, qualifyLocalName, repositoryOf, tagOf} from '../../../src/image/lookup.js'
import type {ImageRecord} from '../../../src/storage/store.js'

const image = (id: string, names: string[], digests: string[] = []): ImageRecord => ({
  id, names, digest: digests[0] ?? 'sha256:' + 'd'.repeat(64), digests, manifestMediaType: '', layers: [], size: 0, created: '', added: '',
})
const a = image('a'.repeat(64), ['localhost/busybox:latest'])
const b = image('ab' + 'c'.repeat(62), ['docker.io/library/alpine:3.19', 'quay.io/x/tool:1'], ['sha256:' + 'e'.repeat(64)])
const images = [a, b]

t.test('by ID, full or prefix, with or without sha256:', async t => {
  t.equal(findImage(images, 'a'.repeat(64)), a)
  t.equal(findImage(images, 'abc'), b)
  t.equal(findImage(images, 'sha256:abcc'), b)
  const c = image('abc' + 'f'.repeat(61), [])
  t.throws(() => findImage([...images, c], 'abc'), {message: 'abc: image ID prefix is ambiguous: it matches 2 images'})
})

t.test('short names: localhost first, then search registries, then a unique suffix', async t => {
  t.equal(findImage(images, 'busybox'), a)
  t.equal(findImage(images, 'busybox:latest'), a)
  t.equal(findImage(images, 'alpine:3.19', {searchRegistries: ['docker.io']}), b)
  t.equal(findImage(images, 'tool:1'), b)
  t.equal(findImage(images, 'x/tool:1'), b)
  t.equal(findImage(images, 'alpine'), undefined)
  t.equal(findImage(images, 'quay.io/x/tool:1'), b)
  t.equal(findImage(images, 'docker.io/alpine:3.19'), b)
})

t.test('by digest', async t => {
  t.equal(findImage(images, `alpine@sha256:${'e'.repeat(64)}`, {searchRegistries: ['docker.io']}), b)
})

t.test('names', async t => {
  t.equal(qualifyLocalName('foo'), 'localhost/foo:latest')
  t.equal(qualifyLocalName('quay.io/a/b:2'), 'quay.io/a/b:2')
  t.equal(qualifyLocalName('docker.io/busybox'), 'docker.io/library/busybox:latest')
  t.equal(repositoryOf('localhost:5000/a/b:1'), 'localhost:5000/a/b')
  t.equal(tagOf('localhost:5000/a/b'), '<none>')
  t.equal(tagOf('localhost:5000/a/b:v1'), 'v1')
})
