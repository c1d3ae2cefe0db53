import t from 'tap'
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {DEFAULT_CAPABILITIES} from '../../../src/config/containers-conf.js'
import {convertSeccompProfile, loadSeccompProfile, type DockerSeccompProfile, type OciSeccomp} from '../../../src/runtime/seccomp.js'

const DISTRO_PROFILE = '/usr/share/containers/seccomp.json'
const defaultCaps = DEFAULT_CAPABILITIES.map(c => `CAP_${c}`)

/** The action the filter takes for a syscall called without argument conditions. */
function actionFor(profile: OciSeccomp, name: string): {action: string; errnoRet?: number} {
  const rule = profile.syscalls?.find(r => r.names.includes(name) && !r.args?.length)
  return rule ? {action: rule.action, ...(rule.errnoRet === undefined ? {} : {errnoRet: rule.errnoRet})} : {action: profile.defaultAction, errnoRet: profile.defaultErrnoRet}
}

t.test('the distribution profile for amd64 with the default capabilities', async t => {
  t.ok(existsSync(DISTRO_PROFILE), `${DISTRO_PROFILE} is installed (apt-get install golang-github-containers-common)`)
  const p = loadSeccompProfile(DISTRO_PROFILE, defaultCaps, 'amd64', {kernel: '6.1.0'})!
  t.equal(p.defaultAction, 'SCMP_ACT_ERRNO')
  t.equal(p.defaultErrnoRet, 38, 'unknown syscalls get ENOSYS')
  t.same(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
  for (const name of ['read', 'write', 'openat', 'execve', 'clone', 'chroot', 'arch_prctl']) {
    t.equal(actionFor(p, name).action, 'SCMP_ACT_ALLOW', `${name} allowed`)
  }
  // Rules that need CAP_SYS_ADMIN are dropped; their "excludes" twins deny with EPERM.
  for (const name of ['bpf', 'sethostname', 'perf_event_open', 'open_by_handle_at', 'init_module', 'settimeofday']) {
    t.same(actionFor(p, name), {action: 'SCMP_ACT_ERRNO', errnoRet: 1}, `${name} denied`)
  }
  t.same(actionFor(p, 'kexec_load'), {action: 'SCMP_ACT_ERRNO', errnoRet: 1})
  t.notOk(p.syscalls!.some(r => r.names.includes('s390_runtime_instr')), 'other architectures\' rules are left out')
  t.notOk(p.syscalls!.some(r => r.names.includes('sync_file_range2')), 'ppc64le only')
  // The OCI shape: no Docker-only fields, empty args left out.
  for (const rule of p.syscalls!) {
    t.same(Object.keys(rule).filter(k => !['names', 'action', 'errnoRet', 'args'].includes(k)), [])
    if (rule.args) t.ok(rule.args.length > 0)
  }
  const personality = p.syscalls!.filter(r => r.names.includes('personality'))
  t.ok(personality.length > 0)
  t.same(personality[0]!.args, [{index: 0, value: 0, op: 'SCMP_CMP_EQ'}], 'valueTwo 0 is left out')
})

t.test('the distribution profile with CAP_SYS_ADMIN allows what it guards', async t => {
  t.ok(existsSync(DISTRO_PROFILE))
  const p = loadSeccompProfile(DISTRO_PROFILE, [...defaultCaps, 'CAP_SYS_ADMIN'], 'amd64', {kernel: '6.1.0'})!
  for (const name of ['bpf', 'setns', 'sethostname', 'perf_event_open']) t.equal(actionFor(p, name).action, 'SCMP_ACT_ALLOW', `${name} allowed`)
  t.equal(actionFor(p, 'init_module').errnoRet, 1, 'CAP_SYS_MODULE still missing')
})

t.test('the distribution profile on arm64', async t => {
  t.ok(existsSync(DISTRO_PROFILE))
  const p = loadSeccompProfile(DISTRO_PROFILE, defaultCaps, 'arm64', {kernel: '6.1.0'})!
  t.same(p.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'])
  t.notOk(p.syscalls!.some(r => r.names.includes('arch_prctl')), 'amd64-only rule dropped')
  t.ok(p.syscalls!.some(r => r.names.includes('cacheflush')), 'arm rule kept')
})

const profile: DockerSeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrno: 'EPERM',
  archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86']}],
  flags: ['SECCOMP_FILTER_FLAG_LOG'],
  syscalls: [
    {names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: []},
    {name: 'mkdir', action: 'SCMP_ACT_ERRNO', errno: 'EACCES'},
    {names: ['new_thing'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: '6.5'}},
    {names: ['both_caps'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']}},
    {names: ['not_amd64'], action: 'SCMP_ACT_ALLOW', excludes: {arches: ['amd64']}},
    {names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 16, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ'}]},
  ],
}

t.test('conversion details: errno names, minKernel, all caps needed, excluded arches, flags', async t => {
  const old = convertSeccompProfile(profile, ['CAP_SYS_ADMIN'], 'amd64', {kernel: '6.1.12-amd64'})!
  t.same(old, {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [
      {names: ['read', 'write'], action: 'SCMP_ACT_ALLOW'},
      {names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13},
      {names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 16, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ'}]},
    ],
  })
  const recent = convertSeccompProfile(profile, ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'], 'amd64', {kernel: '6.18.44'})!
  t.same(recent.syscalls!.map(r => r.names[0]), ['read', 'mkdir', 'new_thing', 'both_caps', 'socket'])
  const arm = convertSeccompProfile(profile, [], 'arm64', {kernel: '6.1'})!
  t.notOk('architectures' in arm, 'no archMap entry for the arch: libseccomp picks the native one')
  t.ok(arm.syscalls!.some(r => r.names[0] === 'not_amd64'))
})

t.test('an explicit architectures list is kept as it is', async t => {
  const p = convertSeccompProfile({defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: []}, [], 'amd64')!
  t.same(p, {defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: []})
})

t.test('unconfined and empty profiles mean no filter', async t => {
  t.equal(loadSeccompProfile(undefined, [], 'amd64'), undefined)
  t.equal(loadSeccompProfile('unconfined', [], 'amd64'), undefined)
  t.equal(convertSeccompProfile({defaultAction: '', syscalls: []}, [], 'amd64'), undefined)
})

t.test('broken profiles are refused with the path and a fix', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-seccomp-'))
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, '{not json')
  t.throws(() => loadSeccompProfile(bad, [], 'amd64'), {constructor: InvalidArgumentError, message: new RegExp(`^seccomp profile ${bad}: not valid JSON`), hint: /seccomp=PATH/})
  t.throws(() => loadSeccompProfile(join(dir, 'missing.json'), [], 'amd64'), {message: `seccomp profile ${join(dir, 'missing.json')}: no such file`})
  const both = join(dir, 'both.json')
  writeFileSync(both, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{name: 'a', names: ['b'], action: 'SCMP_ACT_ERRNO'}]}))
  t.throws(() => loadSeccompProfile(both, [], 'amd64'), {message: `seccomp profile ${both}: a rule gives both "name" and "names" (a); use one`})
  t.throws(() => convertSeccompProfile({defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x'], archMap: [{architecture: 'y'}]}, [], 'amd64'), {message: /both "architectures" and "archMap"/})
  t.throws(() => convertSeccompProfile({defaultAction: 'SCMP_ACT_ERRNO', defaultErrno: 'ENOTHING'}, [], 'amd64'), {message: /unknown errno "ENOTHING"/})
})
