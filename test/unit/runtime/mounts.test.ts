import t from 'tap'
import {mkdirSync, mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {
  buildMounts,
  mountFlagsOf,
  parseDeviceFlag,
  parseMountFlag,
  parseSize,
  parseTmpfsFlag,
  parseVolumeFlag,
  processMountOptions,
  sortMounts,
  type MountPlan,
} from '../../../src/runtime/mounts.js'

const noFlags = () => ({nosuid: false, nodev: false, noexec: false})

t.test('parseVolumeFlag', async t => {
  t.same(parseVolumeFlag('/host/dir:/data'), {kind: 'bind', source: '/host/dir', destination: '/data', options: []})
  t.same(parseVolumeFlag('/host/dir:/data/:ro,Z'), {kind: 'bind', source: '/host/dir', destination: '/data', options: ['ro', 'Z']})
  t.same(parseVolumeFlag('./rel:/data', '/work'), {kind: 'bind', source: '/work/rel', destination: '/data', options: []})
  t.same(parseVolumeFlag('myvol:/data:U'), {kind: 'named', name: 'myvol', destination: '/data', options: ['U']})
  t.same(parseVolumeFlag('/data'), {kind: 'anonymous', destination: '/data', options: []})
  t.throws(() => parseVolumeFlag('/a:data'), {
    constructor: InvalidArgumentError,
    message: '-v /a:data: invalid container path "data": must be an absolute path',
    hint: /e\.g\./,
  })
  t.throws(() => parseVolumeFlag('/a:/b:ro:x'), {message: '-v /a:/b:ro:x: expected SOURCE:DESTINATION[:OPTIONS] or DESTINATION'})
  t.throws(() => parseVolumeFlag(':/b'), {message: '-v :/b: host directory cannot be empty'})
  t.throws(() => parseVolumeFlag('bad name!:/b'), {message: '-v bad name!:/b: invalid volume name "bad name!"'})
  t.throws(() => parseVolumeFlag('data'), {message: /invalid container path "data"/})
})

t.test('parseTmpfsFlag', async t => {
  t.same(parseTmpfsFlag('/run'), {kind: 'tmpfs', destination: '/run', options: []})
  t.same(parseTmpfsFlag('/run:rw,size=64m,mode=1777'), {kind: 'tmpfs', destination: '/run', options: ['rw', 'size=64m', 'mode=1777']})
  t.throws(() => parseTmpfsFlag('run'), {message: '--tmpfs run: invalid container path "run": must be an absolute path'})
})

t.test('parseMountFlag: bind', async t => {
  t.same(parseMountFlag('type=bind,source=/a,destination=/b'), {kind: 'bind', source: '/a', destination: '/b', options: []})
  t.same(parseMountFlag('type=bind,src=rel,target=/b,readonly,bind-propagation=rslave,bind-nonrecursive,relabel=private,U=true,nosuid', '/w'), {
    kind: 'bind',
    source: '/w/rel',
    destination: '/b',
    options: ['ro', 'rslave', 'bind', 'Z', 'U', 'nosuid'],
  })
  t.same(parseMountFlag('type=bind,src=/a,dst=/b,ro=false').options, ['rw'])
  t.throws(() => parseMountFlag('type=bind,dst=/b'), {message: '--mount type=bind,dst=/b: type=bind needs a source', hint: /source=/})
  t.throws(() => parseMountFlag('type=bind,src=/a,dst=/b,bind-propagation=sideways'), {message: /invalid bind-propagation "sideways"/})
  t.throws(() => parseMountFlag('type=bind,src=/a,dst=/b,tmpfs-size=1m'), {message: '--mount type=bind,src=/a,dst=/b,tmpfs-size=1m: unknown option "tmpfs-size" for type=bind'})
  t.throws(() => parseMountFlag('type=bind,src=/a,dst=/b,ro=maybe'), {message: /ro=maybe: expected true or false/})
})

t.test('parseMountFlag: tmpfs and volume', async t => {
  t.same(parseMountFlag('type=tmpfs,dst=/t,tmpfs-size=2m,tmpfs-mode=700,notmpcopyup'), {
    kind: 'tmpfs',
    destination: '/t',
    options: ['size=2m', 'mode=700', 'notmpcopyup'],
  })
  t.same(parseMountFlag('type=volume,src=vol,dst=/v,nocopy'), {kind: 'named', name: 'vol', destination: '/v', options: []})
  t.same(parseMountFlag('type=volume,dst=/v,ro'), {kind: 'anonymous', destination: '/v', options: ['ro']})
  t.throws(() => parseMountFlag('type=tmpfs,src=x,dst=/t'), {message: /type=tmpfs takes no source/})
  t.throws(() => parseMountFlag('type=tmpfs,dst=/t,tmpfs-mode=rwx'), {message: /tmpfs-mode must be octal/})
})

t.test('parseMountFlag: malformed', async t => {
  t.throws(() => parseMountFlag('src=/a,dst=/b'), {constructor: InvalidArgumentError, message: '--mount src=/a,dst=/b: type is required', hint: /type=bind/})
  t.throws(() => parseMountFlag('type=bind,src=/a'), {message: '--mount type=bind,src=/a: destination is required'})
  t.throws(() => parseMountFlag('type=image,src=x,dst=/b'), {message: '--mount type=image,src=x,dst=/b: unsupported mount type "image"'})
  t.throws(() => parseMountFlag('type=bind,src=/a,src=/c,dst=/b'), {message: /src given more than once/})
})

t.test('parseDeviceFlag', async t => {
  t.same(parseDeviceFlag('/dev/fuse'), {source: '/dev/fuse', destination: '/dev/fuse', permissions: 'rwm'})
  t.same(parseDeviceFlag('/dev/fuse:r'), {source: '/dev/fuse', destination: '/dev/fuse', permissions: 'r'})
  t.same(parseDeviceFlag('/dev/sda:/dev/xvda'), {source: '/dev/sda', destination: '/dev/xvda', permissions: 'rwm'})
  t.same(parseDeviceFlag('/dev/sda:/dev/xvda:rw'), {source: '/dev/sda', destination: '/dev/xvda', permissions: 'rw'})
  t.throws(() => parseDeviceFlag('/dev/sda:xvda'), {constructor: InvalidArgumentError, message: '--device /dev/sda:xvda: invalid device mode or path "xvda"'})
  t.throws(() => parseDeviceFlag('/dev/sda:/dev/xvda:rx'), {message: /invalid device mode "rx"/})
  t.throws(() => parseDeviceFlag('nvidia.com/gpu=all'), {message: /CDI device names are not supported/})
  t.throws(() => parseDeviceFlag('fuse'), {message: /must be absolute/})
})

t.test('parseSize: binary units like go-units', async t => {
  t.equal(parseSize('64m', '--shm-size'), 64 * 1024 * 1024)
  t.equal(parseSize('65536k', '--shm-size'), 64 * 1024 * 1024)
  t.equal(parseSize('1.5g', '--memory'), 1.5 * 1024 ** 3)
  t.equal(parseSize('2GiB', '--memory'), 2 * 1024 ** 3)
  t.equal(parseSize('512', '--memory'), 512)
  t.equal(parseSize('100 MB', '--memory'), 100 * 1024 * 1024)
  t.throws(() => parseSize('lots', '--memory'), {constructor: InvalidArgumentError, message: '--memory lots: invalid size', hint: /--memory 64m/})
  t.throws(() => parseSize('-1m', '--memory'), {message: /invalid size/})
})

t.test('processMountOptions: bind defaults follow the source mount', async t => {
  const ctx = {flag: '-v', value: 'x'}
  t.same(processMountOptions([], 'bind', {...ctx, sourceFlags: noFlags()}).options, ['rw', 'rprivate', 'rbind'])
  t.same(processMountOptions(['ro'], 'bind', {...ctx, sourceFlags: {nosuid: true, nodev: true, noexec: false}}).options, ['ro', 'rprivate', 'nosuid', 'nodev', 'rbind'])
  t.same(processMountOptions(['bind', 'exec'], 'bind', {...ctx, sourceFlags: {nosuid: false, nodev: false, noexec: true}}).options, ['bind', 'exec', 'rw', 'private'])
  t.same(processMountOptions(['z', 'rshared'], 'bind', ctx).options, ['rshared', 'rw', 'rbind'], 'z is dropped: no SELinux')
  const u = processMountOptions(['U', 'ro'], 'bind', ctx)
  t.equal(u.chown, true)
  t.same(u.options, ['ro', 'rprivate', 'rbind'])
  const o = processMountOptions(['O', 'upperdir=/u', 'workdir=/w'], 'bind', ctx)
  t.equal(o.overlay, true)
  t.same(o.overlayOptions, ['upperdir=/u', 'workdir=/w'])
})

t.test('processMountOptions: tmpfs defaults as Podman (rw, nosuid, nodev, tmpcopyup)', async t => {
  const ctx = {flag: '--tmpfs', value: '/x'}
  t.same(processMountOptions([], 'tmpfs', ctx).options, ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'])
  t.same(processMountOptions(['size=64m', 'mode=700', 'noexec', 'notmpcopyup'], 'tmpfs', ctx).options, ['size=64m', 'mode=700', 'noexec', 'rw', 'rprivate', 'nosuid', 'nodev'])
})

t.test('processMountOptions: Podman\'s errors', async t => {
  const ctx = {flag: '-v', value: '/a:/b:ro,rw'}
  t.throws(() => processMountOptions(['ro', 'rw'], 'bind', ctx), {constructor: InvalidArgumentError, message: "-v /a:/b:ro,rw: only one of 'rw' and 'ro' can be used"})
  t.throws(() => processMountOptions(['size=1m'], 'bind', ctx), {message: /the 'size' option is only allowed with tmpfs mounts/})
  t.throws(() => processMountOptions(['bind'], 'tmpfs', ctx), {message: /the 'bind' option is not allowed with tmpfs mounts/})
  t.throws(() => processMountOptions(['z', 'Z'], 'bind', ctx), {message: /only one of 'z' and 'Z'/})
  t.throws(() => processMountOptions(['idmap'], 'bind', ctx), {message: /idmapped mounts/})
  t.throws(() => processMountOptions(['fast'], 'bind', ctx), {message: '-v /a:/b:ro,rw: unknown mount option "fast"', hint: /accepted: ro, rw/})
  t.throws(() => processMountOptions(['mode=abc'], 'tmpfs', ctx), {message: /mode must be octal/})
  t.throws(() => processMountOptions(['size='], 'tmpfs', ctx), {message: /the 'size' option needs a value/})
})

t.test('mountFlagsOf: the innermost mount holding the path', async t => {
  const mountinfo = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '30 22 0:25 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw',
    '31 30 0:26 / /run/user/1000 rw,nosuid,nodev,relatime shared:6 - tmpfs tmpfs rw',
    '40 22 0:30 / /mnt/with\\040space rw,noexec - tmpfs tmpfs rw',
  ].join('\n')
  t.same(mountFlagsOf('/home/u/data', mountinfo), {nosuid: false, nodev: false, noexec: false})
  t.same(mountFlagsOf('/run/lock', mountinfo), {nosuid: true, nodev: true, noexec: true})
  t.same(mountFlagsOf('/run/user/1000/x', mountinfo), {nosuid: true, nodev: true, noexec: false})
  t.same(mountFlagsOf('/run/user/10000', mountinfo), {nosuid: true, nodev: true, noexec: true}, 'a prefix that is not a parent does not count')
  t.same(mountFlagsOf('/mnt/with space/f', mountinfo), {nosuid: false, nodev: false, noexec: true})
})

t.test('sortMounts: parents first, stable among equals', async t => {
  const sorted = sortMounts([{destination: '/run/.containerenv'}, {destination: '/proc'}, {destination: '/run'}, {destination: '/dev/shm'}, {destination: '/dev'}])
  t.same(sorted.map(m => m.destination), ['/proc', '/run', '/dev', '/run/.containerenv', '/dev/shm'])
})

function plan(over: Partial<MountPlan> = {}): MountPlan {
  return {
    rootless: true,
    privileged: false,
    readOnly: false,
    readOnlyTmpfs: true,
    network: 'private',
    newUserns: false,
    cgroupVersion: 'v1',
    cgroupWritable: false,
    ttyGroupMapped: true,
    shmSize: 64 * 1024 * 1024,
    etcFiles: {},
    tmpfs: [],
    volumes: [],
    mounts: [],
    volumeMounts: [],
    devices: [],
    cwd: '/',
    mountFlags: noFlags,
    ...over,
  }
}

t.test('buildMounts: the defaults', async t => {
  const r = buildMounts(plan())
  t.same(r.mounts, [
    {destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k']},
    {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
    {destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},
    {destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
    {destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', 'ro']},
  ])
  t.equal(r.maskSysKernel, false)
  t.same([r.devices, r.deviceRules, r.overlayVolumes, r.chownVolumes], [[], [], [], []])
})

t.test('buildMounts: host network rootless binds /sys and asks to mask /sys/kernel', async t => {
  const r = buildMounts(plan({network: 'host'}))
  t.same(r.mounts.find(m => m.destination === '/sys'), {destination: '/sys', type: 'bind', source: '/sys', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'ro', 'rbind']})
  t.same(r.mounts.find(m => m.destination === '/sys/fs/cgroup'), {destination: '/sys/fs/cgroup', type: 'bind', source: '/sys/fs/cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'ro', 'rbind']})
  t.equal(r.maskSysKernel, true)
  t.equal(buildMounts(plan({network: 'host', rootless: false})).mounts.find(m => m.destination === '/sys')?.type, 'sysfs', 'root may mount sysfs')
})

t.test('buildMounts: etc files, read-only and its tmpfs, init, shm size, no gid 5', async t => {
  const r = buildMounts(
    plan({
      readOnly: true,
      etcFiles: {hosts: '/u/hosts', resolvConf: '/u/resolv.conf', hostname: '/u/hostname', containerEnv: '/u/.containerenv'},
      initPath: '/usr/bin/catatonit',
      shmSize: 1000,
      ttyGroupMapped: false,
    }),
  )
  const byDest = Object.fromEntries(r.mounts.map(m => [m.destination, m]))
  const etcRo = ['bind', 'rprivate', 'ro', 'nosuid', 'noexec', 'nodev']
  t.same(byDest['/etc/hosts'], {destination: '/etc/hosts', type: 'bind', source: '/u/hosts', options: etcRo})
  t.same(byDest['/etc/resolv.conf']?.source, '/u/resolv.conf')
  t.same(byDest['/run/.containerenv']?.options, etcRo)
  for (const d of ['/run', '/tmp', '/var/tmp']) t.same(byDest[d], {destination: d, type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']})
  t.same(byDest['/run/podman-init'], {destination: '/run/podman-init', type: 'bind', source: '/usr/bin/catatonit', options: ['bind', 'rprivate', 'ro']})
  t.same(byDest['/dev/shm']?.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=1000'])
  t.notOk(byDest['/dev/pts']?.options?.includes('gid=5'))
  const order = r.mounts.map(m => m.destination)
  t.ok(order.indexOf('/run') < order.indexOf('/run/.containerenv') && order.indexOf('/run') < order.indexOf('/run/podman-init'), '/run before what is mounted in it')

  const noTmpfs = buildMounts(plan({readOnly: true, readOnlyTmpfs: false}))
  t.notOk(noTmpfs.mounts.some(m => m.destination === '/tmp'))
  t.ok(noTmpfs.mounts.find(m => m.destination === '/dev')?.options?.includes('ro'))
  t.ok(noTmpfs.mounts.find(m => m.destination === '/dev/shm')?.options?.includes('ro'))
})

t.test('buildMounts: user mounts, overlays, chowns, and replacing defaults', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-mounts-'))
  mkdirSync(join(dir, 'a'))
  const r = buildMounts(
    plan({
      cwd: dir,
      tmpfs: ['/scratch:size=1m', '/dev/shm:size=2m'],
      volumes: [`${dir}/a:/data:ro,U`, './a:/ovl:O', 'named:/ignored'],
      mounts: [`type=bind,src=${dir}/a,dst=/m,bind-propagation=rslave`, 'type=tmpfs,dst=/t'],
      volumeMounts: [{source: `${dir}/a`, destination: '/vol', options: ['nocopy']}],
      etcFiles: {hosts: '/u/hosts'},
      mountFlags: () => ({nosuid: true, nodev: true, noexec: false}),
    }),
  )
  const byDest = Object.fromEntries(r.mounts.map(m => [m.destination, m]))
  t.same(byDest['/scratch'], {destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']})
  t.same(byDest['/dev/shm'], {destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['size=2m', 'rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']}, '--tmpfs replaces the default /dev/shm')
  t.equal(r.mounts.filter(m => m.destination === '/dev/shm').length, 1)
  t.same(byDest['/data'], {destination: '/data', type: 'bind', source: `${dir}/a`, options: ['ro', 'rprivate', 'nosuid', 'nodev', 'rbind']})
  t.same(byDest['/m']?.options, ['rslave', 'rw', 'nosuid', 'nodev', 'rbind'])
  t.same(byDest['/vol']?.options, ['rw', 'rprivate', 'nosuid', 'nodev', 'rbind'])
  t.notOk(byDest['/ignored'], 'named volumes come resolved in volumeMounts')
  t.notOk(byDest['/ovl'], 'overlays are the caller\'s to mount')
  t.same(r.overlayVolumes, [{source: `${dir}/a`, destination: '/ovl', options: ['rw']}])
  t.same(r.chownVolumes, [{source: `${dir}/a`, destination: '/data', options: []}])
})

t.test('buildMounts: refused user mounts', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-mounts-'))
  t.throws(() => buildMounts(plan({volumes: [`${dir}/missing:/x`]})), {
    constructor: InvalidArgumentError,
    message: `-v ${dir}/missing:/x: statfs ${dir}/missing: no such file or directory`,
    hint: /create/,
  })
  t.throws(() => buildMounts(plan({volumes: [`${dir}:/x`], tmpfs: ['/x']})), {message: `-v ${dir}:/x: duplicate mount destination /x`})
  t.throws(() => buildMounts(plan({devices: ['/dev/nonexistent-device']})), {message: '--device /dev/nonexistent-device: /dev/nonexistent-device: no such file or directory'})
  t.throws(() => buildMounts(plan({devices: [dir]})), {message: `--device ${dir}: no devices found in ${dir}`})
  t.throws(() => buildMounts(plan({devices: ['/etc/hostname']})), {message: '--device /etc/hostname: /etc/hostname is not a device node'})
})

t.test('buildMounts: devices are bound rootless and created as root', async t => {
  const rootless = buildMounts(plan({devices: ['/dev/null:/dev/mynull:r']}))
  t.same(rootless.mounts.find(m => m.destination === '/dev/mynull'), {
    destination: '/dev/mynull',
    type: 'bind',
    source: '/dev/null',
    options: ['slave', 'nosuid', 'noexec', 'ro', 'rbind'],
  })
  t.same(rootless.devices, [])
  const root = buildMounts(plan({rootless: false, devices: ['/dev/null']}))
  const st = statSync('/dev/null')
  t.same(root.devices, [{path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid}])
  t.same(root.deviceRules, [{allow: true, type: 'c', major: 1, minor: 3, access: 'rwm'}])
  t.notOk(root.mounts.some(m => m.destination === '/dev/null'))
})

t.test('buildMounts: privileged binds the host\'s devices but not terminals', async t => {
  const r = buildMounts(plan({privileged: true, devices: ['/dev/null']}))
  const devs = r.mounts.filter(m => m.options?.includes('slave')).map(m => m.destination)
  t.ok(devs.includes('/dev/null'))
  t.equal(devs.filter(d => d === '/dev/null').length, 1, '--device is ignored when privileged')
  t.notOk(devs.some(d => d === '/dev/ptmx' || d.startsWith('/dev/tty') || d.startsWith('/dev/pts/')))
  t.same(r.mounts.find(m => m.destination === '/sys')?.options, ['rprivate', 'nosuid', 'noexec', 'nodev', 'rw'])
})
