import t from 'tap'
import {basicAuthorization, parseChallenges, parseCredsFlag, repositoryScope} from '../../../src/registry/auth.js'

t.test('parseChallenges reads bearer and basic challenges', async t => {
  t.same(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    {scheme: 'bearer', params: {realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push'}},
  ], 'quoted values keep their commas')
  t.same(parseChallenges('Basic realm="tspod-test"'), [{scheme: 'basic', params: {realm: 'tspod-test'}}])
  t.same(parseChallenges('Basic realm=plain, Bearer realm="x"'), [
    {scheme: 'basic', params: {realm: 'plain'}},
    {scheme: 'bearer', params: {realm: 'x'}},
  ], 'several challenges in one header')
  t.same(parseChallenges('Bearer realm="a\\"b"'), [{scheme: 'bearer', params: {realm: 'a"b'}}], 'escapes in quoted strings')
  t.same(parseChallenges(''), [])
})

t.test('parseCredsFlag splits at the first colon and refuses what is incomplete', async t => {
  t.same(parseCredsFlag('alice:pa:ss'), {username: 'alice', password: 'pa:ss'})
  t.throws(() => parseCredsFlag('alice'), /no password given/)
  t.throws(() => parseCredsFlag(':x'), /username must not be empty/)
  t.same(basicAuthorization({username: 'a', password: 'b'}), 'Basic YTpi')
  t.equal(repositoryScope('ns/repo', ['pull', 'push']), 'repository:ns/repo:pull,push')
})
