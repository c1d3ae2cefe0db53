import t from 'tap'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describeTlsFailure, loadTlsMaterial} from '../../../src/registry/tls.js'

t.test('loadTlsMaterial: the first certs.d directory that exists', async t => {
  const root = mkdtempSync(join(tmpdir(), 'tspod-tls-'))
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  const user = join(root, 'user', 'reg:5000')
  const system = join(root, 'etc', 'reg:5000')
  mkdirSync(system, {recursive: true})
  writeFileSync(join(system, 'ca.crt'), 'SYSTEM CA')
  t.same(loadTlsMaterial([user, system], {}), {userDir: user, dir: system, ca: ['SYSTEM CA']}, 'a missing user directory is skipped')
  mkdirSync(user, {recursive: true})
  writeFileSync(join(user, 'a.crt'), 'CA A')
  writeFileSync(join(user, 'client.cert'), 'CERT')
  writeFileSync(join(user, 'client.key'), 'KEY')
  t.same(loadTlsMaterial([user, system], {}), {userDir: user, dir: user, ca: ['CA A'], cert: 'CERT', key: 'KEY'}, 'CAs and the client pair, from that directory only')
  rmSync(join(user, 'client.key'))
  t.throws(() => loadTlsMaterial([user], {}), {message: `client certificate ${join(user, 'client.cert')} has no key ${join(user, 'client.key')}`})
})

t.test('describeTlsFailure tells a wanted client certificate from an untrusted server', async t => {
  const alert = Object.assign(new Error('request to https://reg:5000/v2/ failed, reason: 80:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:rec_layer_s3.c:1601:SSL alert number 42'), {code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'})
  const none = describeTlsFailure(alert, 'reg:5000', {userDir: '/home/u/.config/containers/certs.d/reg:5000'})
  t.equal(none.message, 'TLS with reg:5000 failed: the registry requires a client certificate and none was found (TLS alert "bad certificate")')
  t.match(none.hint, 'NAME.cert and NAME.key (with the registry\'s CA as ca.crt) in /home/u/.config/containers/certs.d/reg:5000')
  const refused = describeTlsFailure(alert, 'reg:5000', {dir: '/etc/containers/certs.d/reg:5000', cert: 'C', key: 'K'})
  t.match(refused.message, 'the registry refused the client certificate from /etc/containers/certs.d/reg:5000')
  const untrusted = describeTlsFailure(Object.assign(new Error('self-signed certificate in certificate chain'), {code: 'SELF_SIGNED_CERT_IN_CHAIN'}), 'reg:5000', {})
  t.equal(untrusted.message, 'TLS with reg:5000 failed: self-signed certificate in certificate chain')
  t.match(untrusted.hint, "Put the registry's CA certificate in ~/.config/containers/certs.d/reg:5000/ca.crt, or use --tls-verify=false")
})
