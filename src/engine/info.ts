/**
 * `tspod info`: what tspod detected about the host and what it chose, with
 * the reason for each choice, so a user can see why tspod behaves as it does.
 */
import {execFileSync} from 'node:child_process'
import {accessSync, constants, existsSync, statSync} from 'node:fs'
import {userInfo} from 'node:os'
import type {Engine} from './engine.js'
import {detectCgroups, hostFacts} from './host.js'
import {selectRuntime} from '../runtime/select.js'

declare const TSPOD_VERSION: string

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 2000}).split('\n')[0].trim()
  } catch {
    return undefined
  }
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = `${dir}/${name}`
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // next
    }
  }
  return undefined
}

function deviceUsable(path: string): {path: string; usable: boolean; hint?: string} {
  try {
    accessSync(path, constants.R_OK | constants.W_OK)
    return {path, usable: true}
  } catch {
    return {path, usable: false, hint: existsSync(path) ? `as root: chmod 0666 ${path}` : `${path} does not exist`}
  }
}

/** The rootless network backend a container gets by default, why, and what its published ports show the container. */
async function describeNetworkChoice(engine: Engine, found: {slirp: boolean; pasta: boolean; tun: {usable: boolean}}) {
  const {chooseBackend, sourceAddressNote} = await import('../network/backend.js')
  const available = [...(found.slirp ? ['slirp4netns'] : []), ...(found.pasta ? ['pasta'] : [])]
  try {
    const choice = chooseBackend({configured: engine.config.containers.defaultRootlessNetworkCmd, cmdPath: engine.config.containers.networkCmdPath})
    return {
      available,
      default: choice.name,
      path: choice.path,
      reason: choice.reason,
      publishedPortsKeepSourceAddress: true,
      sourceAddress: sourceAddressNote(choice.name),
      ...(found.tun.usable ? {} : {warning: 'no backend can work until /dev/net/tun is usable'}),
      devTun: found.tun,
    }
  } catch (err) {
    return {available, default: 'none', reason: (err as Error).message, publishedPortsKeepSourceAddress: false, devTun: found.tun}
  }
}

export async function collectInfo(engine: Engine, options: {runtime?: string}) {
  const cgroups = detectCgroups()
  const host = hostFacts()
  let runtime: Record<string, unknown>
  try {
    const choice = selectRuntime({explicit: options.runtime, configured: engine.config.containers.runtime, runtimes: engine.config.containers.runtimes, cgroups})
    runtime = {name: choice.name, path: choice.path, version: firstLine(choice.path, ['--version']) ?? 'unknown', reason: choice.reason}
  } catch (err) {
    runtime = {name: '', error: (err as Error).message}
  }
  const ns = await import('../rootless/ns-helper.js')
  const user = userInfo()
  const uid = process.env.TSPOD_USERNS === '1' ? Number(process.env.TSPOD_HOST_UID ?? user.uid) : user.uid
  const subuids = engine.rootless ? ns.readSubIds('/etc/subuid', {name: user.username, uid}) : []
  const subgids = engine.rootless ? ns.readSubIds('/etc/subgid', {name: user.username, uid}) : []
  const ranges = (list: Array<{start: number; count: number}>, self: number) => [
    {container_id: 0, host_id: self, size: 1},
    ...list.reduce<Array<{container_id: number; host_id: number; size: number}>>((acc, r) => {
      const next = acc.length === 0 ? 1 : acc[acc.length - 1].container_id + acc[acc.length - 1].size
      acc.push({container_id: next, host_id: r.start, size: r.count})
      return acc
    }, []),
  ]
  const slirp = which('slirp4netns')
  const pasta = which('pasta')
  const tun = deviceUsable('/dev/net/tun')
  const fuse = deviceUsable('/dev/fuse')
  const images = engine.store.readImages()
  const containers = engine.store.readContainerRefs()
  const warnings: string[] = []
  if (engine.rootless && !tun.usable) warnings.push(`/dev/net/tun is not usable: rootless networking (slirp4netns, pasta) will fail; fix: ${tun.hint}`)
  if (engine.rootless && !cgroups.rootlessLimits) warnings.push(`resource limits (--memory, --cpus, --pids-limit) cannot be enforced: ${cgroups.reason}`)
  if (engine.driver.driver === 'vfs') warnings.push(`storage driver vfs: ${engine.driver.reason}`)
  return {
    host: {
      arch: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      kernel: host.kernel,
      hostname: host.hostname,
      distribution: host.distribution,
      rootless: engine.rootless,
      cgroupManager: 'cgroupfs',
      cgroupVersion: cgroups.version,
      cgroupMode: cgroups.mode,
      cgroupLimits: {enforced: !engine.rootless || cgroups.rootlessLimits, reason: engine.rootless ? cgroups.reason : 'root: limits are enforced through cgroups'},
      ociRuntime: runtime,
      idMappings: engine.rootless ? {uidmap: ranges(subuids, uid), gidmap: ranges(subgids, process.getgid?.() ?? 0)} : {},
      namespaceHolder: engine.rootless ? {helper: ns.helperPath(), pidFile: `${engine.store.runRoot}/pause.pid`} : {},
      security: {
        rootless: engine.rootless,
        seccompEnabled: true,
        seccompProfilePath: engine.config.containers.seccompProfile ?? (existsSync('/usr/share/containers/seccomp.json') ? '/usr/share/containers/seccomp.json' : ''),
        capabilities: engine.config.containers.defaultCapabilities.join(','),
      },
      network: await describeNetworkChoice(engine, {slirp: !!slirp, pasta: !!pasta, tun}),
      slirp4netns: slirp ? {executable: slirp, version: firstLine(slirp, ['--version']) ?? 'unknown'} : {},
      pasta: pasta ? {executable: pasta, version: firstLine(pasta, ['--version']) ?? 'unknown'} : {},
      devFuse: fuse,
    },
    store: {
      graphRoot: engine.store.graphRoot,
      runRoot: engine.store.runRoot,
      graphDriverName: engine.driver.driver,
      graphDriverReason: engine.driver.reason,
      graphOptions: engine.driver.mountProgram ? {mountProgram: engine.driver.mountProgram} : {},
      configFile: engine.config.storage.file ?? '',
      imageStore: {number: images.length},
      containerStore: {number: containers.length},
      graphRootExists: existsSync(engine.store.graphRoot) && statSync(engine.store.graphRoot).isDirectory(),
    },
    registries: {search: engine.config.registries.unqualifiedSearchRegistries},
    configFiles: engine.config.filesRead,
    version: {Version: TSPOD_VERSION, NodeVersion: process.version, OsArch: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`},
    warnings,
  }
}
