import t from 'tap'
import {createdTime} from '../../../src/build/layer.js'
import {parseDuration} from '../../../src/build/executor.js'

t.test('createdTime is the epoch, or --timestamp', async t => {
  t.equal(createdTime({epoch: 0}), '1970-01-01T00:00:00.000Z')
  t.equal(createdTime({epoch: 1700000000}), '2023-11-14T22:13:20.000Z')
  t.equal(createdTime({epoch: 0, timestamp: 60}), '1970-01-01T00:01:00.000Z')
})

t.test('parseDuration reads Go durations as nanoseconds', async t => {
  const at = {keyword: 'HEALTHCHECK', original: 'HEALTHCHECK', location: {file: 'Dockerfile', line: 3, column: 1}, endLine: 3, flags: [], json: false, args: [], heredocs: []}
  t.equal(parseDuration('30s', at), 30e9)
  t.equal(parseDuration('1m30s', at), 90e9)
  t.equal(parseDuration('500ms', at), 5e8)
  t.equal(parseDuration('1.5h', at), 5400e9)
  t.throws(() => parseDuration('5', at), /Dockerfile:3:1: invalid duration "5"/)
  t.throws(() => parseDuration('', at), /invalid duration/)
})
