import t from 'tap'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {ContainersConf} from '../../../src/config/containers-conf.js'
import type {CgroupInfo} from '../../../src/engine/host.js'
import type {ContainerConfig} from '../../../src/image/oci.js'
import type {TomlTable} from '../../../src/config/toml-file.js'
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  buildArgs,
  generateSpec,
  mergeCapabilities,
  parseEnvFile,
  parseOwnIds,
  parseProcLimits,
  serializeSpec,
  type ContainerOptions,
  type SpecHost,
  type SpecInput,
} from '../../../src/runtime/spec.js'

const ALL_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
].map(c => `CAP_${c}`)
const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
]
const V1: CgroupInfo = {version: 'v1', mode: 'hybrid', rootlessLimits: false, reason: 'cgroup v1'}
const V2_DELEGATED: CgroupInfo = {version: 'v2', mode: 'unified', rootlessLimits: true, reason: 'delegated'}
const U64_MAX = 2n ** 64n - 1n

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\n'
const GROUP = 'root:x:0:\ntty:x:5:\nwheel:x:10:tester\ntester:x:1000:\n'

function host(over: Partial<SpecHost> = {}): Partial<SpecHost> {
  return {
    env: {HOME: '/home/me', LANG: 'C.UTF-8', http_proxy: 'http://proxy:3128', TERM: 'screen', FOO_A: '1', FOO_B: '2'},
    cwd: '/work',
    boundingCaps: ALL_CAPS,
    limits: {nofile: {soft: 1024, hard: 4096}, nproc: {soft: 500, hard: 1000}, core: {soft: 0, hard: U64_MAX}},
    arch: 'amd64',
    kernel: '6.1.0',
    hostname: 'thehost',
    user: {uid: 1000, gid: 1000, subUidCount: 65536, subGidCount: 65536},
    mountFlags: () => ({nosuid: false, nodev: false, noexec: false}),
    seccompPaths: [],
    initPaths: [],
    ...over,
  }
}

function options(over: Partial<ContainerOptions> = {}): ContainerOptions {
  return {
    env: [],
    envFiles: [],
    envHost: false,
    groupAdd: [],
    tty: false,
    stdin: false,
    readOnly: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    securityOpt: [],
    ulimits: [],
    tmpfs: [],
    volumes: [],
    mounts: [],
    devices: [],
    network: 'private',
    annotations: {},
    labels: {},
    ...over,
  }
}

function input(over: {options?: Partial<ContainerOptions>; image?: ContainerConfig; conf?: TomlTable; host?: Partial<SpecHost>} & Partial<Omit<SpecInput, 'options' | 'host' | 'conf'>> = {}): SpecInput {
  const {options: opts, image, conf, host: h, ...rest} = over
  const files: Record<string, string> = {'/etc/passwd': PASSWD, '/etc/group': GROUP}
  return {
    id: '0123456789abcdef0123456789abcdef',
    rootfs: '/store/overlay/merged',
    imageConfig: image ?? {Cmd: ['sh']},
    lookupUser: path => files[path],
    conf: new ContainersConf(conf ?? {}, []),
    cgroups: V1,
    rootless: true,
    options: options(opts),
    etcFiles: {},
    host: host(h),
    ...rest,
  }
}

t.test('a plain rootless container', async t => {
  const r = generateSpec(input())
  const s = r.spec
  t.equal(s.ociVersion, '1.0.2-dev')
  t.same(s.root, {path: '/store/overlay/merged'})
  t.equal(s.hostname, '0123456789ab')
  t.same(s.process.user, {uid: 0, gid: 0, umask: 0o022})
  t.same(s.process.args, ['sh'])
  t.equal(s.process.cwd, '/')
  t.notOk('terminal' in s.process)
  t.notOk('noNewPrivileges' in s.process)
  t.notOk('oomScoreAdj' in s.process)
  t.same(s.process.env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'container=tspod',
    'http_proxy=http://proxy:3128',
    'HOSTNAME=0123456789ab',
    'HOME=/root',
  ])
  t.same(s.process.capabilities, {bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, inheritable: [], permitted: DEFAULT_CAPS, ambient: []})
  t.same(s.process.rlimits, [
    {type: 'RLIMIT_NOFILE', hard: 4096, soft: 1024},
    {type: 'RLIMIT_NPROC', hard: 1000, soft: 500},
  ])
  t.same(s.linux.namespaces, [{type: 'pid'}, {type: 'network'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}])
  t.notOk('uidMappings' in s.linux, 'tspod\'s own namespace: no nested one')
  t.same(s.linux.maskedPaths, DEFAULT_MASKED_PATHS.concat(s.linux.maskedPaths!.slice(DEFAULT_MASKED_PATHS.length)))
  t.ok(s.linux.maskedPaths!.includes('/proc/kcore'))
  t.same(s.linux.readonlyPaths, DEFAULT_READONLY_PATHS)
  t.notOk('resources' in s.linux, 'the default pids limit is dropped silently rootless on v1')
  t.notOk('seccomp' in s.linux)
  t.match(r.warnings, [/no seccomp profile found.*apt-get install golang-github-containers-common/])
  t.same(s.annotations, {'io.container.manager': 'tspod'})
  t.same(s.mounts.map(m => m.destination), ['/proc', '/dev', '/sys', '/dev/pts', '/dev/mqueue', '/dev/shm', '/sys/fs/cgroup'])
  t.same(r.unenforced, [])
  t.same(r.workdir, {path: '/', create: false})
  t.same(r.user, {uid: 0, gid: 0, additionalGids: [], home: '/root'})
})

t.test('environment: Podman\'s precedence, the image\'s variables listed first', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-spec-'))
  const envFile = join(dir, 'env')
  writeFileSync(envFile, '# settings\n  FROM_FILE=file\nSHARED=file\nLANG\n\nNOT_ON_HOST\n')
  const r = generateSpec(
    input({
      image: {Cmd: ['sh'], Env: ['PATH=/image/bin', 'SHARED=image', 'IMG=1', 'container=custom']},
      conf: {containers: {env: ['CONF=1', 'IMG=conf', 'LANG']}},
      options: {envFiles: [envFile], env: ['SHARED=cli', 'HOME=/cli-home', 'TERM', 'FOO*', 'UNSET_ON_HOST', 'EMPTY='], tty: true},
    }),
  )
  t.same(r.spec.process.env, [
    'PATH=/image/bin',
    'SHARED=cli',
    'IMG=1',
    'container=custom',
    'CONF=1',
    'LANG=C.UTF-8',
    'http_proxy=http://proxy:3128',
    'FROM_FILE=file',
    'HOME=/cli-home',
    'TERM=screen',
    'FOO_A=1',
    'FOO_B=2',
    'EMPTY=',
    'HOSTNAME=0123456789ab',
  ])
})

t.test('environment: --env-host, --http-proxy=false, TERM with -t, HOME of the user', async t => {
  const hostAll = generateSpec(input({image: {Cmd: ['sh'], Env: ['PATH=/image/bin', 'LANG=image']}, options: {envHost: true}})).spec.process.env
  t.ok(hostAll.includes('LANG=C.UTF-8'), 'the host\'s environment beats the image\'s')
  t.ok(hostAll.includes('HOME=/home/me'))
  t.ok(hostAll.includes('TERM=screen'))
  const noProxy = generateSpec(input({options: {httpProxy: false}})).spec.process.env
  t.notOk(noProxy.some(e => e.startsWith('http_proxy=')))
  const tty = generateSpec(input({options: {tty: true}, image: {Cmd: ['sh'], User: 'tester'}}))
  t.equal(tty.spec.process.terminal, true)
  t.ok(tty.spec.process.env.includes('TERM=xterm'))
  t.ok(tty.spec.process.env.includes('HOME=/home/tester'))
})

t.test('environment: bad entries and files', async t => {
  t.throws(() => generateSpec(input({options: {env: ['=x']}})), {constructor: InvalidArgumentError, message: '-e =x: invalid variable: "=x"'})
  t.throws(() => generateSpec(input({options: {envFiles: ['/nonexistent/env']}})), {message: '--env-file /nonexistent/env: no such file or directory'})
})

t.test('parseEnvFile', async t => {
  t.same(parseEnvFile('A=1\n  B = 2 \n#C=3\nD\nE*\n\r\nF="q"\r\n', {D: 'd', E1: 'e1', E2: 'e2'}), ['A=1', 'B = 2 ', 'D=d', 'E1=e1', 'E2=e2', 'F="q"'])
  t.throws(() => parseEnvFile('ok=1\n=bad\n', {}, 'my.env'), {constructor: InvalidArgumentError, message: 'my.env line 2: invalid variable: "=bad"'})
})

t.test('args: entrypoint and command combined as Podman does', async t => {
  const image = {Entrypoint: ['/entry', '-x'], Cmd: ['default']}
  t.same(buildArgs({}, image), ['/entry', '-x', 'default'])
  t.same(buildArgs({command: ['mine']}, image), ['/entry', '-x', 'mine'])
  t.same(buildArgs({entrypoint: '/bin/sh'}, image), ['/bin/sh'], 'a new entrypoint drops the image\'s Cmd')
  t.same(buildArgs({entrypoint: '/bin/sh', command: ['-c', 'x']}, image), ['/bin/sh', '-c', 'x'])
  t.same(buildArgs({entrypoint: ''}, image), ['default'], '--entrypoint \'\' clears it and keeps the image\'s Cmd')
  t.same(buildArgs({entrypoint: '', command: ['ls']}, image), ['ls'])
  t.same(buildArgs({entrypoint: '["/bin/sh","-c"]', command: ['echo hi']}, image), ['/bin/sh', '-c', 'echo hi'])
  t.same(buildArgs({entrypoint: '/my prog --flag'}, image), ['/my prog --flag'], 'one word, not split')
  t.same(buildArgs({entrypoint: '[not json'}, image), ['[not json'])
  t.same(buildArgs({entrypoint: []}, {Cmd: ['x']}), ['x'])
  t.same(buildArgs({}, {Entrypoint: [''], Cmd: ['y']}), ['y'])
  t.throws(() => buildArgs({}, {}), {constructor: InvalidArgumentError, message: 'no command or entrypoint provided, and no CMD or ENTRYPOINT from image'})
  t.throws(() => buildArgs({entrypoint: ''}, {Entrypoint: ['/e']}), {message: /no command or entrypoint/})
})

t.test('--init prepends the init and mounts it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-spec-'))
  const init = join(dir, 'catatonit')
  writeFileSync(init, '')
  const r = generateSpec(input({options: {init: true, command: ['sleep', '1']}, host: {initPaths: [join(dir, 'missing'), init]}}))
  t.same(r.spec.process.args, ['/run/podman-init', '--', 'sleep', '1'])
  t.same(r.spec.mounts.find(m => m.destination === '/run/podman-init'), {destination: '/run/podman-init', type: 'bind', source: init, options: ['bind', 'rprivate', 'ro']})
  const fromConf = generateSpec(input({conf: {containers: {init: true, init_path: init}}}))
  t.same(fromConf.spec.process.args.slice(0, 2), ['/run/podman-init', '--'])
  t.throws(() => generateSpec(input({options: {init: true}, host: {initPaths: [join(dir, 'missing')]}})), {
    constructor: InvalidArgumentError,
    message: /^--init: no init binary found/,
    hint: /apt-get install catatonit/,
  })
  t.throws(() => generateSpec(input({options: {init: true, initPath: join(dir, 'nope')}})), {message: `--init: init binary ${join(dir, 'nope')} not found`, hint: /apt-get install catatonit/})
})

t.test('user: -u, --group-add, memberships, image USER', async t => {
  const r = generateSpec(input({options: {user: 'tester', groupAdd: ['tty', '4000']}}))
  t.same(r.spec.process.user, {uid: 1000, gid: 1000, umask: 0o022, additionalGids: [1000, 5, 4000, 10]})
  t.ok(r.spec.process.env.includes('HOME=/home/tester'))
  const explicitGroup = generateSpec(input({options: {user: 'tester:tty'}}))
  t.same(explicitGroup.spec.process.user.additionalGids, [5], 'no memberships with an explicit group')
  const image = generateSpec(input({image: {Cmd: ['sh'], User: '1000'}}))
  t.equal(image.spec.process.user.uid, 1000)
  const numeric = generateSpec(input({options: {user: '4242'}}))
  t.same(numeric.spec.process.user, {uid: 4242, gid: 0, umask: 0o022, additionalGids: [0]})
  t.ok(numeric.spec.process.env.includes('HOME=/'))
  t.throws(() => generateSpec(input({options: {user: 'ghost'}})), {constructor: InvalidArgumentError, message: 'unable to find user ghost: no matching entries in passwd file'})
  const keep = generateSpec(input({options: {groupAdd: ['keep-groups']}}))
  t.equal(keep.spec.annotations!['run.oci.keep_original_groups'], '1')
  t.throws(() => generateSpec(input({options: {groupAdd: ['keep-groups', 'wheel']}})), {message: /keep-groups: cannot be combined/})
  const umask = generateSpec(input({conf: {containers: {umask: '0077'}}}))
  t.equal(umask.spec.process.user.umask, 0o077)
})

t.test('memberships outside the mapped gids are skipped with a warning', async t => {
  const r = generateSpec(input({options: {user: 'tester'}, host: {user: {uid: 1000, gid: 1000, subUidCount: 100, subGidCount: 100}}}))
  t.same(r.spec.process.user.additionalGids, [1000, 10], 'gid 1000 is named, so kept; memberships are filtered')
  const far = generateSpec(
    input({options: {user: 'tester'}, lookupUser: p => ({'/etc/passwd': PASSWD, '/etc/group': 'big:x:70000:tester\n'})[p], host: {user: {uid: 1000, gid: 1000, subUidCount: 100, subGidCount: 100}}}),
  )
  t.same(far.spec.process.user.additionalGids, [1000])
  t.match(far.warnings, [/additional gid 70000 is not present in the user namespace/])
})

t.test('capabilities: merging, ALL, prefixes and case', async t => {
  t.same(mergeCapabilities(['CHOWN', 'KILL'], ['net_raw', 'CAP_SYS_ADMIN'], ['kill'], ALL_CAPS), ['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_SYS_ADMIN'])
  t.same(mergeCapabilities(['CHOWN', 'KILL'], ['NET_ADMIN'], ['ALL'], ALL_CAPS), ['CAP_NET_ADMIN'])
  t.same(mergeCapabilities(['CHOWN'], ['all'], [], ALL_CAPS), [...ALL_CAPS].sort())
  t.same(mergeCapabilities(['CHOWN'], ['SYS_ADMIN'], [], ['CAP_CHOWN']), ['CAP_CHOWN'], 'nothing beyond the bounding set')
  t.throws(() => mergeCapabilities([], ['KILL'], ['cap_kill'], ALL_CAPS), {constructor: InvalidArgumentError, message: 'capability "CAP_KILL" cannot be dropped and added'})
  t.throws(() => mergeCapabilities([], ['FLY'], [], ALL_CAPS), {message: '--cap-add FLY: unknown capability "CAP_FLY"', hint: /capabilities\(7\)/})

  const dropAll = generateSpec(input({options: {capDrop: ['ALL']}})).spec.process.capabilities
  t.same(dropAll, {bounding: [], effective: [], inheritable: [], permitted: [], ambient: []})
  const confCaps = generateSpec(input({conf: {containers: {default_capabilities: ['CHOWN']}}, options: {capAdd: ['NET_RAW']}})).spec.process.capabilities
  t.same(confCaps.bounding, ['CAP_CHOWN', 'CAP_NET_RAW'])
})

t.test('capabilities: a non-root user gets only what --cap-add names', async t => {
  const plain = generateSpec(input({options: {user: '1000'}})).spec.process.capabilities
  t.same(plain, {bounding: DEFAULT_CAPS, effective: [], inheritable: [], permitted: [], ambient: []})
  const added = generateSpec(input({options: {user: '1000', capAdd: ['net_raw']}})).spec.process.capabilities
  t.same(added.effective, ['CAP_NET_RAW'])
  t.same(added.ambient, ['CAP_NET_RAW'])
  t.same(added.inheritable, ['CAP_NET_RAW'])
  t.ok(added.bounding.includes('CAP_NET_RAW'))
})

t.test('capabilities: the image label narrows them', async t => {
  const r = generateSpec(input({image: {Cmd: ['sh'], Labels: {'io.containers.capabilities': 'CHOWN,kill'}}}))
  t.same(r.spec.process.capabilities.bounding, ['CAP_CHOWN', 'CAP_KILL'])
  const tooMuch = generateSpec(input({image: {Cmd: ['sh'], Labels: {'io.containers.capabilities': 'SYS_ADMIN'}}}))
  t.same(tooMuch.spec.process.capabilities.bounding, DEFAULT_CAPS)
  t.match(tooMuch.warnings, [/not allowed by default: CAP_SYS_ADMIN/])
})

t.test('--privileged: every capability, no masks, no seccomp, /sys writable', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-spec-'))
  const profile = join(dir, 'p.json')
  writeFileSync(profile, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: []}))
  const r = generateSpec(input({options: {privileged: true, securityOpt: ['mask=/proc/cpuinfo']}, host: {seccompPaths: [profile]}}))
  const caps = r.spec.process.capabilities
  t.same(caps.bounding, [...ALL_CAPS].sort())
  t.same(caps.effective, caps.bounding)
  t.same(r.spec.linux.maskedPaths, ['/proc/cpuinfo'], 'only what was asked for')
  t.notOk('readonlyPaths' in r.spec.linux)
  t.notOk('seccomp' in r.spec.linux)
  t.same(r.warnings, [])
  t.same(r.spec.mounts.find(m => m.destination === '/sys')?.options, ['rprivate', 'nosuid', 'noexec', 'nodev', 'rw'])
  const named = generateSpec(input({options: {privileged: true, securityOpt: [`seccomp=${profile}`]}}))
  t.same(named.spec.linux.seccomp, {defaultAction: 'SCMP_ACT_ALLOW', syscalls: []}, 'a named profile still applies')
})

t.test('security options', async t => {
  const r = generateSpec(
    input({options: {securityOpt: ['no-new-privileges', 'label=disable', 'apparmor=unconfined', 'mask=/proc/cpuinfo:/sys/class', 'unmask=/proc/kcore:/proc/tim*']}}),
  )
  t.equal(r.spec.process.noNewPrivileges, true)
  const masked = r.spec.linux.maskedPaths!
  t.notOk(masked.includes('/proc/kcore'))
  t.notOk(masked.includes('/proc/timer_list'))
  t.notOk(masked.includes('/proc/timer_stats'))
  t.ok(masked.includes('/proc/keys'))
  t.same(masked.slice(-2), ['/proc/cpuinfo', '/sys/class'])
  const all = generateSpec(input({options: {securityOpt: ['unmask=ALL']}}))
  t.notOk('maskedPaths' in all.spec.linux)
  t.notOk('readonlyPaths' in all.spec.linux)
  t.notOk('maskedPaths' in generateSpec(input({options: {securityOpt: ['systempaths=unconfined']}})).spec.linux)
  t.notOk('noNewPrivileges' in generateSpec(input({options: {securityOpt: ['no-new-privileges=false']}})).spec.process)
  t.throws(() => generateSpec(input({options: {securityOpt: ['mask=proc']}})), {constructor: InvalidArgumentError, message: '--security-opt mask=proc: "proc" is not an absolute path'})
  t.throws(() => generateSpec(input({options: {securityOpt: ['apparmor=docker-default']}})), {message: /AppArmor profiles are not applied/})
  t.throws(() => generateSpec(input({options: {securityOpt: ['frobnicate']}})), {message: '--security-opt frobnicate: unknown security option', hint: /known: no-new-privileges/})
})

t.test('seccomp: containers.conf, the distribution profile, unconfined', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-spec-'))
  const mine = join(dir, 'mine.json')
  writeFileSync(mine, JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}}]}))
  const distro = generateSpec(input({host: {seccompPaths: [join(dir, 'etc.json'), mine]}}))
  t.same(distro.spec.linux.seccomp, {defaultAction: 'SCMP_ACT_ERRNO', syscalls: []}, 'the rule needs a capability the container lacks')
  t.same(distro.warnings, [])
  const withCap = generateSpec(input({options: {capAdd: ['SYS_ADMIN']}, host: {seccompPaths: [mine]}}))
  t.same(withCap.spec.linux.seccomp!.syscalls, [{names: ['bpf'], action: 'SCMP_ACT_ALLOW'}])
  const conf = generateSpec(input({conf: {containers: {seccomp_profile: mine}}}))
  t.ok(conf.spec.linux.seccomp)
  const unconfined = generateSpec(input({options: {securityOpt: ['seccomp=unconfined']}, host: {seccompPaths: [mine]}}))
  t.notOk('seccomp' in unconfined.spec.linux)
  t.same(unconfined.warnings, [])
})

t.test('rlimits: defaults follow the process, --ulimit wins over containers.conf, rootless clamps', async t => {
  const r = generateSpec(
    input({
      conf: {containers: {default_ulimits: ['nofile=100:200', 'stack=8192']}},
      options: {ulimits: ['nofile=300:400', 'core=-1', 'nproc=5000:9000']},
    }),
  )
  t.same(r.spec.process.rlimits, [
    {type: 'RLIMIT_STACK', hard: 8192, soft: 8192},
    {type: 'RLIMIT_NOFILE', hard: 400, soft: 300},
    {type: 'RLIMIT_CORE', hard: U64_MAX, soft: U64_MAX},
    {type: 'RLIMIT_NPROC', hard: 1000, soft: 1000},
  ])
  t.same(r.warnings.filter(w => w.startsWith('--ulimit')), ['--ulimit nproc: 9000 is above the hard limit 1000 a rootless user has: using 1000'])
  const root = generateSpec(input({rootless: false, options: {ulimits: ['nofile=10000000']}}))
  t.same(root.spec.process.rlimits, [
    {type: 'RLIMIT_NOFILE', hard: 10000000, soft: 10000000},
    {type: 'RLIMIT_NPROC', hard: 1048576, soft: 1048576},
  ])
  t.throws(() => generateSpec(input({options: {ulimits: ['nofile=10:5']}})), {
    constructor: InvalidArgumentError,
    message: '--ulimit nofile=10:5: ulimit soft limit must be less than or equal to hard limit: 10 > 5',
  })
  t.throws(() => generateSpec(input({options: {ulimits: ['files=10']}})), {message: /unknown ulimit type "files"/})
  t.throws(() => generateSpec(input({options: {ulimits: ['nofile']}})), {message: '--ulimit nofile: invalid ulimit', hint: /nofile=1024:2048/})
})

t.test('parseProcLimits', async t => {
  const text = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max cpu time              unlimited            unlimited            seconds   ',
    'Max processes             96365                96365                processes ',
    'Max open files            1024                 20000                files     ',
    'Max core file size        0                    unlimited            bytes     ',
  ].join('\n')
  t.same(parseProcLimits(text), {
    cpu: {soft: U64_MAX, hard: U64_MAX},
    nproc: {soft: 96365, hard: 96365},
    nofile: {soft: 1024, hard: 20000},
    core: {soft: 0, hard: U64_MAX},
  })
})

t.test('resources: rootless on cgroup v1 nothing is enforced, and only flags are reported', async t => {
  const r = generateSpec(input({options: {memory: '64m', cpus: '1.5', cpuShares: 512, pidsLimit: 100}}))
  t.notOk('resources' in r.spec.linux)
  t.same(r.unenforced, ['memory', 'cpus', 'cpu-shares', 'pids-limit'])
  t.same(generateSpec(input({conf: {containers: {pids_limit: 10}}})).unenforced, [], 'a containers.conf default is not a request')
})

t.test('resources: enforced on cgroup v2 with delegation, and as root', async t => {
  const r = generateSpec(input({cgroups: V2_DELEGATED, options: {memory: '64m', cpus: '1.5', cpuShares: 512}}))
  t.same(r.spec.linux.resources, {
    pids: {limit: 2048},
    memory: {limit: 64 * 1024 * 1024, swap: 128 * 1024 * 1024},
    cpu: {shares: 512, quota: 150000, period: 100000},
  })
  t.same(r.unenforced, [])
  t.same(generateSpec(input({cgroups: V2_DELEGATED, options: {pidsLimit: 0}})).spec.linux.resources, undefined, 'pids-limit 0 is no limit')
  t.same(generateSpec(input({cgroups: V2_DELEGATED, options: {pidsLimit: -1}})).spec.linux.resources, undefined)
  const root = generateSpec(input({rootless: false, options: {pidsLimit: 50}}))
  t.same(root.spec.linux.resources, {pids: {limit: 50}, devices: [{allow: false, access: 'rwm'}]})
  t.throws(() => generateSpec(input({options: {memory: '1m'}})), {constructor: InvalidArgumentError, message: '--memory 1m: minimum memory limit allowed is 6MB'})
  t.throws(() => generateSpec(input({options: {cpus: 'two'}})), {message: '--cpus two: must be a positive number'})
  t.throws(() => generateSpec(input({options: {memory: 'big'}})), {message: '--memory big: invalid size'})
})

t.test('namespaces: host network, cgroup v2', async t => {
  const hostNet = generateSpec(input({options: {network: 'host'}}))
  t.same(hostNet.spec.linux.namespaces, [{type: 'pid'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}])
  t.equal(hostNet.spec.hostname, 'thehost', 'the host\'s name, as Podman gives --network host')
  t.equal(hostNet.spec.mounts.find(m => m.destination === '/sys')?.type, 'bind')
  t.equal(hostNet.spec.linux.maskedPaths![0], '/sys/kernel')
  const v2 = generateSpec(input({cgroups: V2_DELEGATED}))
  t.same(v2.spec.linux.namespaces.map(n => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'])
  t.same(generateSpec(input({options: {hostname: 'web'}})).spec.hostname, 'web')
})

t.test('sysctls from containers.conf, network ones dropped with --network host', async t => {
  const conf = {containers: {default_sysctls: ['net.ipv4.ping_group_range=0 0', 'kernel.msgmax=8192']}}
  t.same(generateSpec(input({conf})).spec.linux.sysctl, {'net.ipv4.ping_group_range': '0 0', 'kernel.msgmax': '8192'})
  t.same(generateSpec(input({conf, options: {network: 'host'}})).spec.linux.sysctl, {'kernel.msgmax': '8192'})
})

t.test('--userns=keep-id: a nested namespace keeping the user\'s id', async t => {
  const r = generateSpec(input({options: {userns: 'keep-id'}}))
  const maps = [
    {containerID: 0, hostID: 1, size: 1000},
    {containerID: 1000, hostID: 0, size: 1},
    {containerID: 1001, hostID: 1001, size: 64536},
  ]
  t.same(r.spec.linux.uidMappings, maps)
  t.same(r.spec.linux.gidMappings, maps)
  t.same(r.spec.linux.namespaces.at(-1), {type: 'user'})
  t.same(r.spec.process.user, {uid: 1000, gid: 1000, umask: 0o022, additionalGids: [1000]})
  t.ok(r.spec.process.env.includes('HOME=/home/tester'))
  t.same(r.spec.process.capabilities.effective, [], 'not root inside')
  t.ok(r.spec.mounts.find(m => m.destination === '/dev/pts')?.options?.includes('gid=5'))

  const custom = generateSpec(input({options: {userns: 'keep-id:uid=0,gid=0'}}))
  t.same(custom.spec.linux.uidMappings, [{containerID: 0, hostID: 0, size: 1}, {containerID: 1, hostID: 1, size: 65536}])
  t.same(custom.spec.process.capabilities.effective, DEFAULT_CAPS)

  const imageUser = generateSpec(input({options: {userns: 'keep-id'}, image: {Cmd: ['sh'], User: 'root'}}))
  t.equal(imageUser.spec.process.user.uid, 0, 'the image\'s USER wins over keep-id\'s default')

  const hostNet = generateSpec(input({options: {userns: 'keep-id', network: 'host'}}))
  t.equal(hostNet.spec.mounts.find(m => m.destination === '/sys')?.type, 'bind')
})

t.test('--userns=nomap and refusals', async t => {
  const r = generateSpec(input({options: {userns: 'nomap'}}))
  t.same(r.spec.linux.uidMappings, [{containerID: 0, hostID: 1, size: 65536}])
  t.same(r.spec.process.user, {uid: 0, gid: 0, umask: 0o022})
  const small = generateSpec(input({options: {userns: 'nomap'}, host: {user: {uid: 1000, gid: 1000, subUidCount: 4, subGidCount: 4}}}))
  t.notOk(small.spec.mounts.find(m => m.destination === '/dev/pts')?.options?.includes('gid=5'), 'gid 5 is not mapped')
  t.throws(() => generateSpec(input({options: {userns: 'auto'}})), {constructor: InvalidArgumentError, message: '--userns=auto: not supported by tspod yet'})
  t.throws(() => generateSpec(input({rootless: false, options: {userns: 'keep-id'}})), {message: '--userns=keep-id: only supported rootless'})
  t.throws(() => generateSpec(input({options: {userns: 'keep-id'}, host: {user: undefined}})), {message: /ids were not passed/})
  t.same(generateSpec(input({conf: {containers: {userns: 'nomap'}}})).spec.linux.uidMappings, [{containerID: 0, hostID: 1, size: 65536}])
})

t.test('--read-only, workdir, stop signal, annotations', async t => {
  const r = generateSpec(
    input({
      options: {readOnly: true, workdir: '/srv', stopSignal: 'SIGKILL', annotations: {a: 'b'}},
      etcFiles: {hosts: '/run/u/hosts', resolvConf: '/run/u/resolv.conf', hostname: '/run/u/hostname'},
    }),
  )
  t.same(r.spec.root, {path: '/store/overlay/merged', readonly: true})
  t.equal(r.spec.process.cwd, '/srv')
  t.same(r.workdir, {path: '/srv', create: false})
  t.same(r.spec.annotations, {a: 'b', 'io.container.manager': 'tspod', 'org.opencontainers.image.stopSignal': '9'})
  const dests = r.spec.mounts.map(m => m.destination)
  for (const d of ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname', '/run', '/tmp', '/var/tmp']) t.ok(dests.includes(d), d)
  const image = generateSpec(input({image: {Cmd: ['sh'], WorkingDir: 'app', StopSignal: 'quit'}}))
  t.same(image.workdir, {path: '/app', create: true}, 'the image\'s WORKDIR is created when missing')
  t.equal(image.spec.annotations!['org.opencontainers.image.stopSignal'], '3')
  t.throws(() => generateSpec(input({options: {workdir: 'rel'}})), {constructor: InvalidArgumentError, message: '--workdir rel: must be an absolute path'})
  t.throws(() => generateSpec(input({options: {stopSignal: 'SIGNOPE'}})), {message: '--stop-signal SIGNOPE: unknown signal'})
})

t.test('time zone', async t => {
  const r = generateSpec(input({options: {tz: 'UTC'}}))
  t.same(r.spec.mounts.find(m => m.destination === '/etc/localtime'), {destination: '/etc/localtime', type: 'bind', source: '/usr/share/zoneinfo/UTC', options: ['bind', 'rprivate', 'ro']})
  t.throws(() => generateSpec(input({options: {tz: 'Mars/Olympus'}})), {constructor: InvalidArgumentError, message: '--tz Mars/Olympus: unknown time zone'})
  t.throws(() => generateSpec(input({options: {tz: '../../etc/passwd'}})), {message: /unknown time zone/})
})

t.test('rootfs propagation follows the mounts', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-spec-'))
  t.equal(generateSpec(input({options: {devices: ['/dev/null']}})).spec.linux.rootfsPropagation, 'rslave')
  t.equal(generateSpec(input({options: {volumes: [`${dir}:/d:rshared`]}})).spec.linux.rootfsPropagation, 'shared')
  t.notOk('rootfsPropagation' in generateSpec(input({options: {volumes: [`${dir}:/d`]}})).spec.linux)
})

t.test('serializeSpec writes uint64 limits exactly', async t => {
  const r = generateSpec(input({options: {ulimits: ['core=-1']}}))
  const text = serializeSpec(r.spec)
  t.match(text, /"hard": 18446744073709551615,\n\s+"soft": 18446744073709551615/)
  t.notMatch(text, /u64:/)
  t.equal(JSON.parse(text).process.rlimits[0].type, 'RLIMIT_CORE')
})

t.test('parseOwnIds: who the user is, seen from inside tspod\'s namespace', async t => {
  const uidMap = '         0       1001          1\n         1     100000      65536\n'
  const gidMap = '         0       1001          1\n         1     100000      60000\n     60001     300000       5536\n'
  t.same(parseOwnIds(uidMap, gidMap), {uid: 1001, gid: 1001, subUidCount: 65536, subGidCount: 65536})
  t.equal(parseOwnIds('0 0 4294967295', '0 0 4294967295'), undefined, 'the initial namespace tells nothing')
})
