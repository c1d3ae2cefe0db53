import t from 'tap'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {
  isMapped,
  keepIdMappings,
  nomapMappings,
  parseUsernsFlag,
  resolveGroups,
  resolveUser,
} from '../../../src/runtime/user.js'

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'tester:x:1000:1000:tester:/home/tester:/bin/sh',
  'nohome:x:1001:1001:::/bin/sh',
  'broken:x:notanumber:1:',
  '',
].join('\n')
const GROUP = ['root:x:0:', 'tty:x:5:', 'wheel:x:10:tester,other', 'audio:x:29:tester', 'tester:x:1000:', 'video:x:44:'].join('\n')

function image(files: Record<string, string>): (path: string) => string | undefined {
  return path => files[path]
}
const lookup = image({'/etc/passwd': PASSWD, '/etc/group': GROUP})

t.test('resolveUser: no user is root, with root\'s home and memberships', async t => {
  t.same(resolveUser(undefined, lookup), {uid: 0, gid: 0, additionalGids: [], home: '/root'})
  t.same(resolveUser('', lookup), {uid: 0, gid: 0, additionalGids: [], home: '/root'})
})

t.test('resolveUser: by name takes uid, gid, home and the groups listing the name', async t => {
  t.same(resolveUser('tester', lookup), {uid: 1000, gid: 1000, additionalGids: [10, 29], home: '/home/tester'})
})

t.test('resolveUser: by number finds the passwd entry too', async t => {
  t.same(resolveUser('1000', lookup), {uid: 1000, gid: 1000, additionalGids: [10, 29], home: '/home/tester'})
})

t.test('resolveUser: a number without an entry runs as that uid in group 0 with home /', async t => {
  t.same(resolveUser('4242', lookup), {uid: 4242, gid: 0, additionalGids: [], home: '/'})
})

t.test('resolveUser: an explicit group replaces the primary group and drops memberships', async t => {
  t.same(resolveUser('tester:video', lookup), {uid: 1000, gid: 44, additionalGids: [], home: '/home/tester'})
  t.same(resolveUser('tester:777', lookup), {uid: 1000, gid: 777, additionalGids: [], home: '/home/tester'})
  t.same(resolveUser('4242:4343', lookup), {uid: 4242, gid: 4343, additionalGids: [], home: '/'})
  t.same(resolveUser(':wheel', lookup), {uid: 0, gid: 10, additionalGids: [], home: '/root'})
})

t.test('resolveUser: an entry without a home directory gets /', async t => {
  t.equal(resolveUser('nohome', lookup).home, '/')
})

t.test('resolveUser: an unknown name fails as Podman does', async t => {
  t.throws(() => resolveUser('nobody', lookup), {
    constructor: InvalidArgumentError,
    message: 'unable to find user nobody: no matching entries in passwd file',
    hint: /numeric id/,
  })
  t.throws(() => resolveUser('tester:nogroup', lookup), {
    constructor: InvalidArgumentError,
    message: 'unable to find group nogroup: no matching entries in group file',
  })
})

t.test('resolveUser: without /etc/passwd only numbers work', async t => {
  const empty = image({})
  t.same(resolveUser('1000:1000', empty), {uid: 1000, gid: 1000, additionalGids: [], home: '/'})
  t.same(resolveUser(undefined, empty), {uid: 0, gid: 0, additionalGids: [], home: '/'})
  t.throws(() => resolveUser('tester', empty), {message: /unable to find user tester/})
})

t.test('resolveUser: ids beyond 2^31-1 are refused', async t => {
  t.throws(() => resolveUser('4294967296', lookup), {constructor: InvalidArgumentError, message: /numeric ids must be between/})
})

t.test('resolveGroups: names from /etc/group, numbers as given', async t => {
  t.same(resolveGroups(['wheel', '5', '12345'], lookup), [10, 5, 12345])
  t.same(resolveGroups([], image({})), [])
  t.throws(() => resolveGroups(['nosuch'], lookup), {
    constructor: InvalidArgumentError,
    message: '--group-add nosuch: unable to find group nosuch: no matching entries in group file',
  })
})

t.test('parseUsernsFlag', async t => {
  t.same(parseUsernsFlag(''), {mode: 'host'})
  t.same(parseUsernsFlag('host'), {mode: 'host'})
  t.same(parseUsernsFlag('nomap'), {mode: 'nomap'})
  t.same(parseUsernsFlag('keep-id'), {mode: 'keep-id'})
  t.same(parseUsernsFlag('keep-id:uid=200,gid=300'), {mode: 'keep-id', uid: 200, gid: 300})
  t.throws(() => parseUsernsFlag('auto'), {constructor: InvalidArgumentError, message: '--userns=auto: not supported by tspod yet', hint: /keep-id/})
  t.throws(() => parseUsernsFlag('keep-id:size=10'), {message: '--userns=keep-id:size=10: unknown keep-id option "size=10"'})
  t.throws(() => parseUsernsFlag('private'), {message: '--userns=private: unknown user namespace mode', hint: /accepted: host/})
  t.throws(() => parseUsernsFlag('host:x'), {message: /unknown user namespace mode/})
})

t.test('keepIdMappings: the user keeps its id, the rest shift around it', async t => {
  // tspod's namespace: 0 is the user, 1..65536 its subordinate ids.
  t.same(keepIdMappings(1000, 65536), [
    {containerID: 0, hostID: 1, size: 1000},
    {containerID: 1000, hostID: 0, size: 1},
    {containerID: 1001, hostID: 1001, size: 64536},
  ])
  // Every id of tspod's namespace is used exactly once.
  const maps = keepIdMappings(1000, 65536)
  t.equal(maps.reduce((n, m) => n + m.size, 0), 65537)
  t.ok(isMapped(65536, maps))
  t.notOk(isMapped(65537, maps))
})

t.test('keepIdMappings: edge cases', async t => {
  t.same(keepIdMappings(0, 65536), [
    {containerID: 0, hostID: 0, size: 1},
    {containerID: 1, hostID: 1, size: 65536},
  ])
  // A uid above the subordinate range: the ids below it are all there is.
  t.same(keepIdMappings(100000, 65536), [
    {containerID: 0, hostID: 1, size: 65536},
    {containerID: 100000, hostID: 0, size: 1},
  ])
})

t.test('nomapMappings: the user itself is not in the container', async t => {
  const maps = nomapMappings(65536)
  t.same(maps, [{containerID: 0, hostID: 1, size: 65536}])
  t.notOk(maps.some(m => m.hostID === 0))
})
