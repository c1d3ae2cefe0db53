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

t.test('a name wins over an ID prefix; the prefix over a mere suffix match (libimage\'s order)', async t => {
  const named = image('f'.repeat(64), ['localhost/abc:latest', 'localhost/deadbeef:latest'])
  const dead = image('deadbeef' + '0'.repeat(56), [])
  const all = [a, b, named, dead]
  t.equal(findImage(all, 'abc'), named, 'localhost/abc, though b\'s ID starts with abc')
  t.equal(findImage(all, 'abc:latest'), named)
  t.equal(findImage(all, 'deadbeef'), named, 'a name, though an ID starts with deadbeef')
  t.equal(findImage(all, 'deadbeef0'), dead, 'an ID prefix that no name matches')
  t.equal(findImage(all, 'sha256:abc'), b, 'sha256: means an ID')
  t.equal(findImage(all, 'sha256:' + 'f'.repeat(64)), named)
  t.equal(findImage(all, 'sha256:0123'), undefined)
  t.equal(findImage(all, '0'.repeat(64)), undefined, '64 hex digits are only ever an ID')

  const hub = image('1'.repeat(64), ['docker.io/library/abc:latest'])
  const quay = image('2'.repeat(64), ['quay.io/x/abc:latest'])
  let reads = 0
  const registries = (): string[] => {
    reads++
    return ['docker.io']
  }
  t.equal(findImage([b, hub], 'abc', {searchRegistries: registries}), hub, 'a name through a search registry wins over an ID prefix')
  t.equal(reads, 1)
  t.equal(findImage([b, quay], 'abc', {searchRegistries: registries}), b, 'an ID prefix wins over a suffix match')
  t.equal(findImage([quay], 'abc', {searchRegistries: registries}), quay, 'a unique suffix match when no ID starts so')
  t.equal(findImage([b], 'abc', {searchRegistries: registries}), b)
  t.equal(reads, 2, 'registries.conf is read only when it decides')
  const c = image('abc' + 'f'.repeat(61), [])
  t.throws(() => findImage([b, c, quay], 'abc', {searchRegistries: registries}), {message: 'abc: image ID prefix is ambiguous: it matches 2 images'})
})

t.test('by digest', async t => {
  t.equal(findImage(images, `alpine@sha256:${'e'.repeat(64)}`, {searchRegistries: ['docker.io']}), b)
  t.equal(findImage(images, `quay.io/x/tool@sha256:${'e'.repeat(64)}`), b)
  t.equal(findImage(images, `quay.io/x/other@sha256:${'e'.repeat(64)}`), undefined, 'a qualified name must match the repository')
})

t.test('names', async t => {
  t.equal(qualifyLocalName('foo'), 'localhost/foo:latest')
  t.equal(qualifyLocalName('quay.io/a/b:2'), 'quay.io/a/b:2')
  t.equal(qualifyLocalName('docker.io/busybox'), 'docker.io/library/busybox:latest')
  t.equal(repositoryOf('localhost:5000/a/b:1'), 'localhost:5000/a/b')
  t.equal(tagOf('localhost:5000/a/b'), '<none>')
  t.equal(tagOf('localhost:5000/a/b:v1'), 'v1')
})
