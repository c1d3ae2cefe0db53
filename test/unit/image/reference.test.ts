import t from 'tap'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {
  formatReference,
  isShortName,
  normalizeReference,
  parseReference,
  referenceName,
  trimReference,
  withDefaultTag,
} from '../../../src/image/reference.js'

const digest = `sha256:${'a'.repeat(64)}`

t.test('parseReference splits domain, path, tag and digest without normalising', async t => {
  t.same(parseReference('busybox'), {path: 'busybox'})
  t.same(parseReference('busybox:1.36'), {path: 'busybox', tag: '1.36'})
  t.same(parseReference('library/busybox'), {path: 'library/busybox'})
  t.same(parseReference('localhost/foo'), {domain: 'localhost', path: 'foo'})
  t.same(parseReference('quay.io/x/y:tag'), {domain: 'quay.io', path: 'x/y', tag: 'tag'})
  t.same(parseReference(`name@${digest}`), {path: 'name', digest})
  t.same(parseReference(`quay.io/x/y:t@${digest}`), {domain: 'quay.io', path: 'x/y', tag: 't', digest})
  t.same(parseReference('localhost:5000/foo'), {domain: 'localhost:5000', path: 'foo'})
  t.same(parseReference('registry:5000/a/b:c'), {domain: 'registry:5000', path: 'a/b', tag: 'c'})
  t.same(parseReference('[::1]:5000/foo'), {domain: '[::1]:5000', path: 'foo'})
  t.same(parseReference('a_b-c__d/e---f.g'), {path: 'a_b-c__d/e---f.g'})
})

t.test('only a first component with a dot, a colon or localhost is a domain', async t => {
  t.equal(parseReference('foo/bar').domain, undefined)
  t.equal(parseReference('foo.com/bar').domain, 'foo.com')
  t.equal(parseReference('foo:1/bar').domain, 'foo:1')
  t.equal(parseReference('localhost/bar').domain, 'localhost')
  t.equal(isShortName(parseReference('library/busybox:1')), true)
  t.equal(isShortName(parseReference('docker.io/busybox')), false)
})

t.test('invalid references are InvalidArgumentErrors naming the reference', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /parsing reference "": invalid reference format: repository name must have at least one component/],
    ['Busybox', /parsing reference "Busybox": invalid reference format: repository name must be lowercase/],
    ['quay.io/Foo/bar', /must be lowercase/],
    ['busybox:', /parsing reference "busybox:": invalid reference format$/],
    ['busybox:-bad', /invalid reference format$/],
    ['busy box', /invalid reference format$/],
    ['busybox//x', /invalid reference format$/],
    ['quay.io/', /at least one component/],
    ['-a/b', /invalid reference format$/],
    ['name@sha256:abc', /invalid reference format$/],
    [`name@sha256:${'A'.repeat(64)}`, /invalid checksum digest format/],
    [`name@sha256:${'a'.repeat(63)}`, /invalid reference format|invalid checksum/],
    [`name@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
    ['a'.repeat(64), /cannot specify 64-byte hexadecimal strings/],
    [`x/${'a'.repeat(255)}`, /must not be more than 255 characters/],
    [`busybox:${'a'.repeat(129)}`, /invalid reference format$/],
    ['bad_domain.com:x/foo', /invalid reference format$/],
  ]
  for (const [input, message] of cases) {
    t.throws(() => parseReference(input), InvalidArgumentError, input)
    t.throws(() => parseReference(input), {message}, input)
  }
})

t.test('normalizeReference applies Docker Hub rules', async t => {
  t.same(normalizeReference('busybox'), {domain: 'docker.io', path: 'library/busybox'})
  t.same(normalizeReference('docker.io/busybox'), {domain: 'docker.io', path: 'library/busybox'})
  t.same(normalizeReference('index.docker.io/busybox:1'), {domain: 'docker.io', path: 'library/busybox', tag: '1'})
  t.same(normalizeReference('docker.io/user/app'), {domain: 'docker.io', path: 'user/app'})
  t.same(normalizeReference('library/busybox'), {domain: 'docker.io', path: 'library/busybox'})
  t.same(normalizeReference('quay.io/busybox'), {domain: 'quay.io', path: 'busybox'})
  t.same(normalizeReference('localhost/foo'), {domain: 'localhost', path: 'foo'})
})

t.test('formatting helpers', async t => {
  const ref = normalizeReference(`busybox:1.36@${digest}`)
  t.equal(referenceName(ref), 'docker.io/library/busybox')
  t.equal(formatReference(ref), `docker.io/library/busybox:1.36@${digest}`)
  t.equal(formatReference(trimReference(ref)), 'docker.io/library/busybox')
  t.equal(formatReference(withDefaultTag(normalizeReference('busybox'))), 'docker.io/library/busybox:latest')
  t.equal(formatReference(withDefaultTag(normalizeReference(`busybox@${digest}`))), `docker.io/library/busybox@${digest}`)
  t.equal(referenceName(parseReference('busybox')), 'busybox')
})
