import t from 'tap'
import {parseByteSize, parseMountFlag} from '../../../src/build/mount.js'
import {DockerfileError} from '../../../src/build/dockerfile-error.js'

t.test('bind is the default type and read-only', async t => {
  t.same(parseMountFlag('target=/src'), {type: 'bind', target: '/src', readonly: true, required: false})
  t.same(parseMountFlag('type=bind,from=build,source=/out,dst=/in,rw'), {type: 'bind', from: 'build', source: '/out', target: '/in', readonly: false, required: false})
  t.same(parseMountFlag('type=bind,src=a,destination=/b,readwrite=true').readonly, false)
  t.same(parseMountFlag('type=bind,target=/b,ro=false').readonly, false)
})

t.test('cache mounts', async t => {
  t.same(parseMountFlag('type=cache,target=/root/.cache/go-build'), {type: 'cache', target: '/root/.cache/go-build', id: '/root/.cache/go-build', sharing: 'shared', readonly: false, required: false})
  const m = parseMountFlag('type=cache,id=apt,target=/var/cache/apt,sharing=locked,mode=0700,uid=100,gid=101,from=base,source=/c')
  t.same([m.id, m.sharing, m.mode, m.uid, m.gid, m.from, m.source], ['apt', 'locked', 0o700, 100, 101, 'base', '/c'])
  t.equal(parseMountFlag('TYPE=cache,TARGET=/x').target, '/x', 'keys in any case')
})

t.test('tmpfs, secret, ssh', async t => {
  t.same(parseMountFlag('type=tmpfs,target=/tmp,size=64m'), {type: 'tmpfs', target: '/tmp', size: 64 * 1024 * 1024, readonly: false, required: false})
  t.same(parseMountFlag('type=secret,id=aws'), {type: 'secret', id: 'aws', target: '/run/secrets/aws', mode: 0o400, readonly: true, required: false})
  t.same(parseMountFlag('type=secret,target=/root/.npmrc,required'), {type: 'secret', target: '/root/.npmrc', id: '.npmrc', mode: 0o400, readonly: true, required: true})
  t.same(parseMountFlag('type=secret,id=TOKEN,env=TOKEN'), {type: 'secret', id: 'TOKEN', env: 'TOKEN', mode: 0o400, readonly: true, required: false})
  t.same(parseMountFlag('type=ssh'), {type: 'ssh', id: 'default', mode: 0o600, readonly: true, required: false})
  t.same(parseMountFlag('type=ssh,id=github,required=true,uid=1000').uid, 1000)
})

t.test('quoted fields', async t => {
  t.equal(parseMountFlag('type=bind,"target=/a,b"').target, '/a,b')
})

t.test('clear errors', async t => {
  const cases: [string, RegExp][] = [
    ['type=nfs,target=/x', /unknown mount type "nfs".*/],
    ['type=cache', /type=cache needs a target/],
    ['type=bind', /type=bind needs a target/],
    ['type=tmpfs,target=/t,size=lots', /size "lots" is not a size/],
    ['type=cache,target=/x,sharing=sometimes', /unknown sharing mode "sometimes"/],
    ['type=cache,target=/x,mode=rwx', /mode "rwx" is not an octal number/],
    ['type=cache,target=/x,uid=-1', /uid "-1" is not a number/],
    ['type=secret', /type=secret needs an id, a target or an env/],
    ['type=bind,target=/x,size=1m', /"size" does not apply to type=bind mounts/],
    ['type=tmpfs,target=/x,from=a', /"from" does not apply to type=tmpfs mounts/],
    ['type=bind,target=/x,color=red', /unexpected key "color" in "color=red"/],
    ['type=bind,target', /"target" needs a value/],
    ['type=bind,target=/x,readonly=maybe', /"readonly=maybe" is not a boolean/],
  ]
  for (const [value, message] of cases) {
    t.throws(() => parseMountFlag(value), DockerfileError, value)
    t.throws(() => parseMountFlag(value), {message}, value)
  }
  try {
    parseMountFlag('type=cache')
  } catch (err) {
    t.match((err as DockerfileError).message, /^invalid --mount=type=cache: /)
    t.equal((err as DockerfileError).hint, 'add target=/path')
  }
})

t.test('parseByteSize reads Docker RAM sizes', async t => {
  t.equal(parseByteSize('1024'), 1024)
  t.equal(parseByteSize('1k'), 1024)
  t.equal(parseByteSize('1.5g'), 1.5 * 1024 ** 3)
  t.equal(parseByteSize('2MiB'), 2 * 1024 ** 2)
  t.equal(parseByteSize('10mb'), 10 * 1024 ** 2)
  t.equal(parseByteSize('x'), undefined)
})
