import t from 'tap'
import {
  formatGoDuration,
  parseDescriptors,
  parseIdMap,
  parseNames,
  parseStat,
  parseStatus,
  toContainerId,
  topTable,
  ttyName,
  type ContainerProcess,
} from '../../../src/container/top.js'

const STAT = '4242 (my (odd) cmd) S 4200 4242 4242 34816 4242 4194560 100 0 0 0 150 50 0 0 20 0 1 0 360000 2322432 345 18446744073709551615'
const STATUS = [
  'Name:\tsleep',
  'State:\tS (sleeping)',
  'Uid:\t100999\t100999\t100999\t100999',
  'Gid:\t1001\t1001\t1001\t1001',
  'NSpid:\t4242\t7',
  'NSpgid:\t4242\t7',
  'VmRSS:\t    1380 kB',
  'Seccomp:\t2',
].join('\n')

t.test('parseStat takes the command name between the first ( and the last )', async t => {
  const s = parseStat(STAT)
  t.equal(s.comm, 'my (odd) cmd')
  t.equal(s.state, 'S')
  t.equal(s.ppid, 4200)
  t.equal(s.ttyNr, 34816)
  t.equal(s.utime, 150)
  t.equal(s.stime, 50)
  t.equal(s.nice, 0)
  t.equal(s.starttime, 360000)
  t.equal(s.vsize, 2322432)
})

t.test('parseStatus', async t => {
  const s = parseStatus(STATUS)
  t.same(s.uids, [100999, 100999, 100999, 100999])
  t.same(s.nspid, [4242, 7])
  t.equal(s.vmRssKb, 1380)
  t.equal(s.seccomp, 2)
})

t.test('formatGoDuration writes what Go writes', async t => {
  t.equal(formatGoDuration(0), '0s')
  t.equal(formatGoDuration(10e6), '10ms')
  t.equal(formatGoDuration(1.5e3), '1.5µs')
  t.equal(formatGoDuration(999), '999ns')
  t.equal(formatGoDuration(2e9), '2s')
  t.equal(formatGoDuration(5.864385815e9), '5.864385815s')
  t.equal(formatGoDuration(60e9), '1m0s')
  t.equal(formatGoDuration(123.04e9), '2m3.04s')
  t.equal(formatGoDuration(3600e9), '1h0m0s')
  t.equal(formatGoDuration(7538.737e9), '2h5m38.737s')
})

t.test('ttyName', async t => {
  t.equal(ttyName(0), '?')
  t.equal(ttyName(34816), 'pts/0')
  t.equal(ttyName((136 << 8) | 5), 'pts/5')
  t.equal(ttyName((137 << 8) | 1), 'pts/257')
  t.equal(ttyName((4 << 8) | 1), 'tty1')
  t.equal(ttyName((4 << 8) | 65), 'ttyS1')
})

t.test('host ids map back to the container\'s', async t => {
  const map = parseIdMap('         0       1001          1\n         1     100000      65536\n')
  t.same(map, [{inside: 0, outside: 1001, count: 1}, {inside: 1, outside: 100000, count: 65536}])
  t.equal(toContainerId(1001, map), 0)
  t.equal(toContainerId(100999, map), 1000)
  t.equal(toContainerId(5, map), 65534, 'unmapped: the overflow id')
})

t.test('parseDescriptors', async t => {
  t.same(parseDescriptors([]).map(d => d.header), ['USER', 'PID', 'PPID', '%CPU', 'ELAPSED', 'TTY', 'TIME', 'COMMAND'])
  t.same(parseDescriptors(['pid,comm', 'uid']).map(d => d.header), ['PID', 'COMMAND', 'UID'])
  t.same(parseDescriptors(['%C', 'etime', 'rss', 'vsz', 'state']).map(d => d.header), ['%CPU', 'ELAPSED', 'RSS', 'VSZ', 'STATE'])
  t.throws(() => parseDescriptors(['pid', 'bogus']), {message: "'bogus': unknown descriptor"})
  t.throws(() => parseDescriptors(['-ef']), /ps\(1\) options are not supported/)
})

t.test('topTable shows the processes as the container sees them', async t => {
  const init: ContainerProcess = {hostPid: 4000, stat: {...parseStat(STAT), ppid: 3999, ttyNr: 0, utime: 0, stime: 0, starttime: 100}, status: {...parseStatus(STATUS), uids: [1001, 1001, 1001, 1001], nspid: [4000, 1]}, args: ['sleep', '1000']}
  const child: ContainerProcess = {hostPid: 4242, stat: {...parseStat(STAT), ppid: 4000}, status: parseStatus(STATUS), args: []}
  const rows = topTable(parseDescriptors([]), {
    processes: [child, init],
    nsPids: new Map([[4000, 1], [4242, 7]]),
    uidMap: parseIdMap('0 1001 1\n1 100000 65536'),
    gidMap: parseIdMap('0 1001 1\n1 100000 65536'),
    users: parseNames('root:x:0:0::/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh'),
    groups: new Map(),
    hostUsers: new Map(),
    uptime: 3610,
  })
  t.same(rows[0], ['USER', 'PID', 'PPID', '%CPU', 'ELAPSED', 'TTY', 'TIME', 'COMMAND'])
  t.same(rows[1], ['root', '1', '0', '0.000', '1h0m9s', '?', '0s', 'sleep 1000'])
  t.same(rows[2], ['tester', '7', '1', '20.000', '10s', 'pts/0', '2s', '[my (odd) cmd]'])
})
