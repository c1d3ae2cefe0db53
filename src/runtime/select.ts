/**
 * Choosing the OCI runtime: `--runtime` (a name or a path), else
 * containers.conf's `runtime`, else crun when installed (on a cgroup-hybrid
 * host it works because tspod's mount namespace hides /sys/fs/cgroup/unified,
 * see tspod-ns), else runc.
 */
import {accessSync, constants} from 'node:fs'
import {delimiter, join} from 'node:path'
import {InvalidArgumentError} from '../errors/index.js'
import type {CgroupInfo} from '../engine/host.js'

export interface RuntimeChoice {
  name: string
  path: string
  reason: string
}

const KNOWN: Record<string, string[]> = {
  crun: ['/usr/bin/crun', '/usr/local/bin/crun', '/usr/sbin/crun'],
  runc: ['/usr/bin/runc', '/usr/sbin/runc', '/usr/local/bin/runc', '/usr/local/sbin/runc'],
  runsc: ['/usr/bin/runsc', '/usr/local/bin/runsc'],
  krun: ['/usr/bin/krun', '/usr/local/bin/krun'],
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function findRuntime(name: string, configured: Record<string, string[]>): string | undefined {
  const candidates = [...(configured[name] ?? []), ...(KNOWN[name] ?? [])]
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, name))
  return candidates.find(executable)
}

export function selectRuntime(options: {explicit?: string; configured?: string; runtimes?: Record<string, string[]>; cgroups: CgroupInfo}): RuntimeChoice {
  const runtimes = options.runtimes ?? {}
  const wanted = options.explicit ?? options.configured
  if (wanted) {
    if (wanted.includes('/')) {
      if (!executable(wanted)) throw new InvalidArgumentError(`OCI runtime ${wanted} is not an executable file`)
      return {name: wanted.slice(wanted.lastIndexOf('/') + 1), path: wanted, reason: options.explicit ? 'chosen with --runtime' : 'set in containers.conf'}
    }
    const path = findRuntime(wanted, runtimes)
    if (!path) throw new InvalidArgumentError(`OCI runtime "${wanted}" not found`, {hint: `Install it (apt-get install ${wanted}) or name its path with --runtime`})
    return {name: wanted, path, reason: options.explicit ? 'chosen with --runtime' : 'set in containers.conf'}
  }
  const crun = findRuntime('crun', runtimes)
  if (crun) {
    return {
      name: 'crun',
      path: crun,
      reason: options.cgroups.mode === 'hybrid' ? 'crun is the fastest runtime installed; tspod hides the hybrid cgroup v2 mount it would refuse' : 'crun is the fastest runtime installed',
    }
  }
  const runc = findRuntime('runc', runtimes)
  if (runc) return {name: 'runc', path: runc, reason: 'crun is not installed'}
  throw new InvalidArgumentError('no OCI runtime found: neither crun nor runc is installed', {hint: 'Install one: apt-get install crun (or runc)'})
}
