import t from 'tap'
import {parseSecretUse} from '../../../src/secrets/secrets.js'

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
