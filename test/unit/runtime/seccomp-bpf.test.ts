import t from 'tap'
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {compiledSeccomp, profileToDirectives} from '../../../src/runtime/seccomp-bpf.js'

const helper = join(import.meta.dirname, '..', '..', '..', 'build', 'tspod-seccomp')

const profile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  syscalls: [
    {names: ['read', 'write'], action: 'SCMP_ACT_ALLOW'},
    {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 8, op: 'SCMP_CMP_EQ'}]},
    {names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ'}]},
    {names: ['kexec_load'], action: 'SCMP_ACT_ERRNO', errnoRet: 1},
  ],
}

t.test('the helper\'s directives', async t => {
  t.equal(
    profileToDirectives(profile),
    [
      'default ERRNO 38',
      'arch x86_64',
      'arch x86',
      'rule ALLOW 0 read',
      'rule ALLOW 0 write',
      'rule ALLOW 0 personality 0:EQ:8:0',
      'rule ALLOW 0 clone 0:MASKED_EQ:2114060288:0',
      'rule ERRNO 1 kexec_load',
      '',
    ].join('\n'),
  )
  t.equal(profileToDirectives({...profile, defaultAction: 'SCMP_ACT_NOTIFY'}), undefined, 'notification is left to the runtime')
  t.equal(profileToDirectives({...profile, syscalls: [{names: ['ioctl'], action: 'SCMP_ACT_NOTIFY'}]}), undefined)
})

t.test('compiled once, then read from the cache', async t => {
  t.ok(existsSync(helper), 'build/tspod-seccomp is built (node scripts/build.mjs builds it)')
  const dir = t.testdir()
  const first = compiledSeccomp(profile, dir, helper)
  t.ok(first, 'a program')
  const raw = Buffer.from(first!, 'base64')
  t.equal(raw.length % 8, 0, 'whole sock_filter instructions')
  t.ok(raw.length > 8 * 10)
  t.same(readdirSync(join(dir, 'seccomp')).length, 1, 'kept under <runroot>/seccomp')
  t.equal(compiledSeccomp(profile, dir, helper), first, 'the same program from the cache')
  t.not(compiledSeccomp({...profile, defaultErrnoRet: 1}, dir, helper), first, 'another profile, another program')
  t.equal(compiledSeccomp(profile, dir, join(dir, 'no-such-helper')), undefined, 'no helper: the runtime compiles')
  t.equal(compiledSeccomp({...profile, syscalls: [{names: ['read'], action: 'SCMP_ACT_BOGUS'}]}, dir, helper), undefined, 'a profile the helper refuses: the runtime compiles')
})
