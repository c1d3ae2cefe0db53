import t from 'tap'
import {formatCpu, formatMemory, parseQuantity} from '../../../src/kube/quantity.js'

t.test('quantities in binary and decimal units, millis and exponents', async t => {
  t.equal(parseQuantity('512Mi', 'memory'), 512 * 2 ** 20)
  t.equal(parseQuantity('1G', 'memory'), 1e9)
  t.equal(parseQuantity('250m', 'cpu'), 0.25)
  t.equal(parseQuantity('1.5', 'cpu'), 1.5)
  t.equal(parseQuantity('1e3', 'memory'), 1000)
  t.equal(parseQuantity(2, 'cpu'), 2)
  t.throws(() => parseQuantity('12 apples', 'resources.limits.memory'), {message: 'resources.limits.memory: "12 apples" is not a valid quantity'})
  t.throws(() => parseQuantity(-1, 'cpu'), {message: 'cpu: -1 is not a valid quantity'})
})

t.test('formatting picks the largest exact unit', async t => {
  t.equal(formatMemory(64 * 2 ** 20), '64Mi')
  t.equal(formatMemory(2 ** 30), '1Gi')
  t.equal(formatMemory(1000), '1000')
  t.equal(formatCpu(2), '2')
  t.equal(formatCpu(0.5), '500m')
})
