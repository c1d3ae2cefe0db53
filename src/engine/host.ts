/** Facts about the host that `info` reports and the engine's choices depend on. */
import {existsSync, readFileSync, statfsSync} from 'node:fs'
import {hostname, release} from 'node:os'

const CGROUP2_SUPER_MAGIC = 0x63677270

export type CgroupMode = 'unified' | 'hybrid' | 'legacy'

export interface CgroupInfo {
  version: 'v1' | 'v2'
  mode: CgroupMode
  /** Whether resource limits can be enforced for a rootless container. */
  rootlessLimits: boolean
  reason: string
}

function isCgroup2(path: string): boolean {
  try {
    return statfsSync(path).type === CGROUP2_SUPER_MAGIC
  } catch {
    return false
  }
}

export function detectCgroups(): CgroupInfo {
  if (isCgroup2('/sys/fs/cgroup')) {
    let delegated = false
    try {
      const self = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').find(l => l.startsWith('0::'))?.slice(3) ?? '/'
      delegated = readFileSync(`/sys/fs/cgroup${self}/cgroup.controllers`, 'utf8').includes('memory') && process.getuid?.() !== 0
    } catch {
      delegated = false
    }
    return {
      version: 'v2',
      mode: 'unified',
      rootlessLimits: delegated,
      reason: delegated ? 'cgroup v2 with controllers delegated to this user' : 'cgroup v2, but no controllers are delegated to this user (systemd user session with Delegate=yes needed)',
    }
  }
  const hybrid = existsSync('/sys/fs/cgroup/unified') && isCgroup2('/sys/fs/cgroup/unified')
  return {
    version: 'v1',
    mode: hybrid ? 'hybrid' : 'legacy',
    rootlessLimits: false,
    reason: 'cgroup v1: a rootless user cannot be given cgroups, so resource limits cannot be enforced',
  }
}

export function hostFacts() {
  let distribution = {distribution: 'unknown', version: 'unknown', codename: ''}
  try {
    const osr = Object.fromEntries(readFileSync('/etc/os-release', 'utf8').split('\n').filter(l => l.includes('=')).map(l => {
      const i = l.indexOf('=')
      return [l.slice(0, i), l.slice(i + 1).replace(/^"|"$/g, '')]
    }))
    distribution = {distribution: osr.ID ?? 'unknown', version: osr.VERSION_ID ?? 'unknown', codename: osr.VERSION_CODENAME ?? ''}
  } catch {
    // Not every system has /etc/os-release.
  }
  return {kernel: release(), hostname: hostname(), distribution}
}
