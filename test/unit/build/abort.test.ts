import t from 'tap'
import {AbortRegistry} from '../../../src/build/abort.js'

t.test('cleanups run newest first, unregistered ones not at all, failures do not stop the rest', async t => {
  const registry = new AbortRegistry()
  const ran: string[] = []
  registry.add(async () => void ran.push('first'))
  const off = registry.add(async () => void ran.push('removed'))
  registry.add(async () => {
    ran.push('failing')
    throw new Error('boom')
  })
  registry.add(async () => void ran.push('last'))
  off()
  t.equal(registry.size, 3)
  await registry.runAll()
  t.same(ran, ['last', 'failing', 'first'])
  t.equal(registry.size, 0)
})
