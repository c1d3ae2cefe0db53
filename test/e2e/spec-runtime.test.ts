// The config.json that generateSpec writes must actually run: as the
// unprivileged user, inside tspod's user namespace (build/tspod-ns), under
// both crun and runc, on the busybox fixture. Each case asserts what the
// container sees; a runtime's own error is shown verbatim in the failure.
import t, {type Test} from 'tap'
import {chownSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ContainersConf} from '../../src/config/containers-conf.js'
import {detectCgroups} from '../../src/engine/host.js'
import type {ContainerConfig} from '../../src/image/oci.js'
import {computeIdMappings, readSubIds} from '../../src/rootless/ns-helper.js'
import {generateSpec, parseProcLimits, serializeSpec, type ContainerOptions, type SpecHost, type SpecInput} from '../../src/runtime/spec.js'
import {BPF_ANNOTATION, compiledSeccomp} from '../../src/runtime/seccomp-bpf.js'
import {fixture, makeStore, repoRoot, requireUser, runAsUser, type RunResult} from './harness.js'

const helper = join(repoRoot, 'build', 'tspod-ns')
const RUNTIMES = ['crun', 'runc']
const DEFAULT_CAP_MASK = '00000000800405fb'

const user = requireUser()
const store = makeStore(t)
const maps = computeIdMappings(
  user.uid,
  user.gid,
  readSubIds('/etc/subuid', {name: user.name, uid: user.uid}),
  readSubIds('/etc/subgid', {name: user.name, uid: user.uid}),
)
const rootfs = join(store.root, 'rootfs')
const bundles = join(store.dir, 'bundles')
const hostDir = join(store.dir, 'host-data')
let limits: SpecHost['limits'] = {}
let serial = 0

function own(path: string): void {
  if (user.switched) chownSync(path, user.uid, user.gid)
}

/** A command as root in tspod's user and mount namespace of this store. */
function inNamespace(command: string[]): Promise<RunResult> {
  return runAsUser([helper, '--runroot', store.runroot, '--uidmap', maps.uidmap, '--gidmap', maps.gidmap, '--', ...command])
}

function readImageFile(path: string): string | undefined {
  try {
    return readFileSync(join(rootfs, path), 'utf8')
  } catch {
    return undefined
  }
}

interface Case {
  options?: Partial<ContainerOptions>
  image?: ContainerConfig
  etcFiles?: SpecInput['etcFiles']
}

/** Writes a bundle for the case and runs it to completion with the runtime. */
async function runCase(runtime: string, name: string, c: Case): Promise<RunResult> {
  const id = `${name}-${runtime}-${++serial}`
  const bundle = join(bundles, id)
  mkdirSync(bundle, {recursive: true})
  own(bundle)
  const report = generateSpec({
    id,
    rootfs,
    imageConfig: c.image ?? {Cmd: ['sh']},
    lookupUser: readImageFile,
    conf: new ContainersConf({containers: {default_sysctls: ['net.ipv4.ping_group_range=0 0']}}, []),
    cgroups: detectCgroups(),
    rootless: true,
    options: {
      env: [],
      envFiles: [],
      envHost: false,
      httpProxy: false,
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
      network: 'none',
      annotations: {},
      labels: {},
      ...c.options,
    },
    etcFiles: c.etcFiles ?? {},
    host: {limits, user: {uid: user.uid, gid: user.gid, subUidCount: user.subuidCount, subGidCount: user.subgidCount}},
  })
  const config = join(bundle, 'config.json')
  writeFileSync(config, serializeSpec(report.spec))
  own(config)
  return inNamespace([runtime, '--root', join(store.runroot, runtime), 'run', '--bundle', bundle, id])
}

/** Exit 0 and the expected output, with the runtime's own words on failure. */
function expectRun(t: Test, result: RunResult, stdout: RegExp | string, what: string): void {
  const extra = {command: result.command, stdout: result.stdout, stderr: result.stderr}
  t.equal(result.code, 0, `${what}: exits 0`, extra)
  if (typeof stdout === 'string') t.equal(result.stdout, stdout, what, extra)
  else t.match(result.stdout, stdout, what, extra)
}

t.before(async () => {
  mkdirSync(bundles)
  own(bundles)
  mkdirSync(hostDir)
  writeFileSync(join(hostDir, 'f'), 'from the host\n')
  own(hostDir)
  own(join(hostDir, 'f'))
  const extract = await inNamespace(['sh', '-c', `mkdir -p "$1" && tar -xf "$2" -C "$1"`, 'sh', rootfs, fixture('busybox-rootfs.tar')])
  if (extract.code !== 0) throw new Error(`extracting the busybox rootfs in the namespace failed: ${extract.stderr}`)
  // The runtime inherits the user's limits, not those of whoever runs the tests.
  limits = parseProcLimits((await runAsUser(['cat', '/proc/self/limits'])).stdout)
})

for (const runtime of RUNTIMES) {
  t.test(runtime, async t => {
    const found = await runAsUser(['sh', '-c', `command -v ${runtime}`])
    if (!t.equal(found.code, 0, `${runtime} is installed (apt-get install ${runtime})`)) return

    t.test('echo', async t => {
      expectRun(t, await runCase(runtime, 'echo', {options: {command: ['echo', 'hello']}}), 'hello', 'prints hello')
    })

    t.test('-u 1000 --group-add', async t => {
      const r = await runCase(runtime, 'id', {options: {user: '1000', groupAdd: ['10', '20'], command: ['id']}})
      expectRun(t, r, /^uid=1000\(tester\) gid=1000\(tester\) groups=/, 'id')
      t.same(r.stdout.replace(/^.*groups=/, '').split(',').map(g => g.replace(/\(.*\)/, '')).sort(), ['10', '1000', '20'], 'supplementary groups')
      const caps = await runCase(runtime, 'id-caps', {options: {user: '1000', command: ['grep', 'CapEff', '/proc/self/status']}})
      expectRun(t, caps, /^CapEff:\s+0000000000000000$/, 'a non-root user has no effective capabilities')
    })

    t.test('environment', async t => {
      const r = await runCase(runtime, 'env', {
        image: {Cmd: ['env'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FROM_IMAGE=1']},
        options: {env: ['FOO=bar', 'FROM_IMAGE=cli'], hostname: 'box'},
      })
      expectRun(t, r, /FOO=bar/, 'env')
      const vars = r.stdout.split('\n').sort()
      t.same(vars, ['FOO=bar', 'FROM_IMAGE=cli', 'HOME=/root', 'HOSTNAME=box', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'container=tspod'].sort(), 'exactly the expected variables')
    })

    t.test('--read-only', async t => {
      const r = await runCase(runtime, 'ro', {
        options: {readOnly: true, command: ['sh', '-c', 'touch /x 2>&1; echo "root=$?"; touch /tmp/y && echo tmp=ok']},
      })
      expectRun(t, r, /Read-only file system\nroot=1\ntmp=ok$/, 'the rootfs refuses writes, /tmp takes them')
    })

    t.test('capabilities', async t => {
      const def = await runCase(runtime, 'caps', {options: {command: ['grep', 'CapEff', '/proc/self/status']}})
      expectRun(t, def, new RegExp(`^CapEff:\\s+${DEFAULT_CAP_MASK}$`), 'the default set')
      const none = await runCase(runtime, 'capdrop', {options: {capDrop: ['ALL'], command: ['grep', 'CapEff', '/proc/self/status']}})
      expectRun(t, none, /^CapEff:\s+0000000000000000$/, '--cap-drop ALL')
    })

    t.test('--network none has only lo', async t => {
      const r = await runCase(runtime, 'net', {options: {command: ['sh', '-c', 'grep : /proc/net/dev | cut -d: -f1 | tr -d " "; cat /proc/sys/net/ipv4/ping_group_range']}})
      expectRun(t, r, /^lo\n0\s+0$/, 'interfaces, and the sysctl from containers.conf applied')
    })

    t.test('--network host', async t => {
      const r = await runCase(runtime, 'hostnet', {options: {network: 'host', command: ['sh', '-c', 'grep -c : /proc/net/dev; ls /sys/kernel | wc -l']}})
      expectRun(t, r, /^([2-9]|\d{2,})\n0$/, 'the host\'s interfaces, /sys/kernel masked')
    })

    t.test('masked and read-only paths', async t => {
      const r = await runCase(runtime, 'masked', {
        options: {command: ['sh', '-c', 'cat /proc/kcore 2>/dev/null | wc -c; wc -c < /proc/interrupts; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null; echo "sys=$?"']},
      })
      expectRun(t, r, /^0\n0\nsys=[12]$/, '/proc/kcore and /proc/interrupts read empty, /proc/sys is read-only')
    })

    t.test('seccomp', async t => {
      const def = await runCase(runtime, 'seccomp', {options: {command: ['grep', '^Seccomp:', '/proc/self/status']}})
      expectRun(t, def, /^Seccomp:\s+2$/, 'the distribution profile is loaded')
      const unconfined = await runCase(runtime, 'unconfined', {options: {securityOpt: ['seccomp=unconfined'], command: ['grep', '^Seccomp:', '/proc/self/status']}})
      expectRun(t, unconfined, /^Seccomp:\s+0$/, 'seccomp=unconfined')
      const profile = join(bundles, 'no-mkdir.json')
      writeFileSync(
        profile,
        JSON.stringify({
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: {caps: ['CAP_SYS_ADMIN']}}],
        }),
      )
      const denied = await runCase(runtime, 'nomkdir', {options: {securityOpt: [`seccomp=${profile}`], command: ['sh', '-c', 'mkdir /tmp/d 2>&1; echo "rc=$?"']}})
      expectRun(t, denied, /Operation not permitted\nrc=1$/, 'a Docker-format profile denies mkdir')
      const allowed = await runCase(runtime, 'mkdir-admin', {
        // The rootfs is shared by the cases: a name of its own per runtime.
        options: {securityOpt: [`seccomp=${profile}`], capAdd: ['SYS_ADMIN'], command: ['sh', '-c', `mkdir /tmp/made-by-${runtime} && echo made`]},
      })
      expectRun(t, allowed, 'made', 'the rule is dropped for a container with CAP_SYS_ADMIN')
      if (runtime === 'crun') {
        // The program build/tspod-seccomp compiled is what crun loads: it wins over the OCI section (the distribution profile here).
        const cache = join(bundles, 'seccomp-cache')
        mkdirSync(cache, {recursive: true})
        const program = compiledSeccomp(
          {defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1}]},
          cache,
          join(repoRoot, 'build', 'tspod-seccomp'),
        )
        t.ok(program, 'build/tspod-seccomp compiles a profile')
        const precompiled = await runCase(runtime, 'bpf', {options: {annotations: {[BPF_ANNOTATION]: program!}, command: ['sh', '-c', 'mkdir /tmp/bpf 2>&1; echo "rc=$?"']}})
        expectRun(t, precompiled, /Operation not permitted\nrc=1$/, 'crun loads the precompiled program of the annotation')
      }
    })

    t.test('--init runs catatonit as PID 1', async t => {
      const r = await runCase(runtime, 'init', {options: {init: true, command: ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline']}})
      expectRun(t, r, /^\/run\/podman-init -- sh -c /, 'PID 1')
    })

    t.test('--tmpfs and a read-only bind mount', async t => {
      const r = await runCase(runtime, 'mounts', {
        options: {
          tmpfs: ['/x:size=1m'],
          volumes: [`${hostDir}:/data:ro`],
          command: ['sh', '-c', 'grep " /x " /proc/mounts | cut -d" " -f1,3; echo hi > /x/f && cat /x/f; cat /data/f; touch /data/g 2>&1; echo "rc=$?"'],
        },
      })
      expectRun(t, r, /^tmpfs tmpfs\nhi\nfrom the host\n.*Read-only file system\nrc=1$/, 'tmpfs writable, bind read-only')
    })

    t.test('etc files and /run/.containerenv under --read-only', async t => {
      const files: Record<string, string> = {}
      for (const name of ['hosts', 'hostname', 'resolv.conf', 'containerenv']) {
        files[name] = join(bundles, `etc-${runtime}-${name}`)
        writeFileSync(files[name]!, `# ${name}\n`)
        own(files[name]!)
      }
      const r = await runCase(runtime, 'etc', {
        options: {readOnly: true, command: ['sh', '-c', 'cat /etc/hosts /etc/hostname /etc/resolv.conf /run/.containerenv']},
        etcFiles: {hosts: files.hosts, hostname: files.hostname, resolvConf: files['resolv.conf'], containerEnv: files.containerenv},
      })
      expectRun(t, r, '# hosts\n# hostname\n# resolv.conf\n# containerenv', 'the four files, /run a tmpfs under them')
    })

    t.test('--ulimit', async t => {
      const r = await runCase(runtime, 'ulimit', {options: {ulimits: ['nofile=512:1024'], command: ['sh', '-c', 'ulimit -n; ulimit -Hn']}})
      expectRun(t, r, '512\n1024', 'nofile')
    })

    t.test('--userns=keep-id', async t => {
      const r = await runCase(runtime, 'keepid', {options: {userns: 'keep-id', command: ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map']}})
      expectRun(t, r, new RegExp(`^${user.uid}\\n${user.gid}\\n\\s+0\\s+1\\s+${user.uid}\\n\\s+${user.uid}\\s+0\\s+1\\n`), 'the user\'s own ids inside')
    })

    t.test('--device /dev/fuse', {skip: !existsSync('/dev/fuse') && '/dev/fuse does not exist here'}, async t => {
      const r = await runCase(runtime, 'fuse', {options: {devices: ['/dev/fuse'], command: ['sh', '-c', 'stat -c "%F %t:%T" /dev/fuse']}})
      expectRun(t, r, 'character special file a:e5', 'the host\'s node is bound in')
    })

    t.test('--privileged', async t => {
      const r = await runCase(runtime, 'priv', {
        options: {privileged: true, command: ['sh', '-c', 'grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status | cut -f2; grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1']},
      })
      expectRun(t, r, /^([0-9a-f]{16})\n\1\n0\nrw$/, 'every capability tspod has, no filter, /sys writable')
    })
  })
}
