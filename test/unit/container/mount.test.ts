import t from 'tap'
import {mountPoints} from '../../../src/container/mount.js'

t.test('mountPoints reads /proc/self/mountinfo, octal escapes included', async t => {
  const info = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '401 22 0:52 / /home/u/.local/share/tspod/containers/abc/merged rw,relatime - overlay overlay rw,lowerdir=/a,upperdir=/b,workdir=/c,userxattr',
    '402 22 0:53 / /mnt/with\\040space rw - tmpfs tmpfs rw',
  ].join('\n')
  const points = mountPoints(info)
  t.ok(points.has('/home/u/.local/share/tspod/containers/abc/merged'))
  t.ok(points.has('/mnt/with space'))
  t.notOk(points.has('/home/u'))
})
