import t from 'tap'
import {parseDuration, registryAccessOptions} from '../../../src/cli/transfer-progress.js'
import type {CommandContext} from '../../../src/cli/context.js'

t.test('parseDuration takes Go durations and bare seconds', async t => {
  t.equal(parseDuration('500ms', '--retry-delay'), 500)
  t.equal(parseDuration('2s', '--retry-delay'), 2000)
  t.equal(parseDuration('1m30s', '--retry-delay'), 90_000)
  t.equal(parseDuration('3', '--retry-delay'), 3000)
  t.throws(() => parseDuration('soon', '--retry-delay'), /--retry-delay: invalid duration "soon"/)
})

t.test('registryAccessOptions reads the shared flags', async t => {
  const ctx = {flags: {'tls-verify': false, retry: '5', 'retry-delay': '10ms', creds: 'a:b'}} as unknown as CommandContext
  t.same(registryAccessOptions(ctx), {tlsVerify: false, certDir: undefined, creds: 'a:b', authfile: undefined, retry: 5, retryDelayMs: 10})
  const unset = {flags: {}} as unknown as CommandContext
  t.equal(registryAccessOptions(unset).tlsVerify, undefined, 'no --tls-verify leaves it to registries.conf')
  t.throws(() => registryAccessOptions({flags: {retry: 'x'}} as unknown as CommandContext), /--retry: invalid number/)
})
