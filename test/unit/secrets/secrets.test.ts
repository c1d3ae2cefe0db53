import t from 'tap'
import {createSecret, parseSecretUse, readSecretEnvironment, removeSecret} from '../../../src/secrets/secrets.js'
import type {Store} from '../../../src/storage/store.js'

t.test('parseSecretUse: Podman defaults and options', async t => {
  t.same(parseSecretUse('db'), {name: 'db', type: 'mount', target: '/run/secrets/db', uid: 0, gid: 0, mode: 0o444})
  t.same(parseSecretUse('db,target=x'), {name: 'db', type: 'mount', target: '/run/secrets/x', uid: 0, gid: 0, mode: 0o444})
  t.same(parseSecretUse('db,target=/etc/x,uid=1,gid=2,mode=0400'), {name: 'db', type: 'mount', target: '/etc/x', uid: 1, gid: 2, mode: 0o400})
  t.same(parseSecretUse('db,type=env'), {name: 'db', type: 'env', target: 'db', uid: 0, gid: 0, mode: 0o444})
  t.same(parseSecretUse('db,type=env,target=PASS').target, 'PASS')
})

t.test('parseSecretUse: bad input names the option', async t => {
  t.throws(() => parseSecretUse(''), /the secret name is missing/)
  t.throws(() => parseSecretUse('db,type=file'), /type must be mount or env/)
  t.throws(() => parseSecretUse('db,mode=999'), /mode=999 is not a valid octal mode/)
  t.throws(() => parseSecretUse('db,uid=-1'), /uid=-1 is not a valid number/)
  t.throws(() => parseSecretUse('db,color=red'), /unknown option "color"/)
  t.throws(() => parseSecretUse('db,type=env,mode=0400'), /apply only to type=mount/)
})

t.test('readSecretEnvironment: env-type secrets by name, with their current value', async t => {
  const store = {graphRoot: t.testdir()} as Store
  await createSecret(store, 'db', Buffer.from('s3cret'))
  const refs = [
    {Name: 'db', Target: '/run/secrets/db', Type: 'mount'},
    {Name: 'db', Target: 'DB_PASS', Type: 'env'},
  ]
  t.same(await readSecretEnvironment(store, refs), ['DB_PASS=s3cret'], 'mounted secrets add nothing')
  await createSecret(store, 'db', Buffer.from('rotated'), {replace: true})
  t.same(await readSecretEnvironment(store, refs), ['DB_PASS=rotated'], 'a replaced secret gives its new value')
  await removeSecret(store, 'db')
  await t.rejects(readSecretEnvironment(store, refs), {message: 'no secret with name or id "db": no such secret'})
  t.same(await readSecretEnvironment(store, [refs[0]!]), [], 'a removed mounted secret is not read')
})
