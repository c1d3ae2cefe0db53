/**
 * The files tspod writes for each container and the runtime bind-mounts:
 * /etc/hosts, /etc/resolv.conf, /etc/hostname and /run/.containerenv.
 */
import {readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

export interface EtcFiles {
  hosts: string
  resolvConf: string
  hostname: string
  containerEnv: string
}

/** slirp4netns's built-in DNS forwarder, reachable from the container's private network. */
const SLIRP_DNS = '10.0.2.3'

export function resolvConfFor(network: 'none' | 'host' | 'private', dns: string[] = [], hostResolv = '/etc/resolv.conf'): string {
  let text = ''
  try {
    text = readFileSync(hostResolv, 'utf8')
  } catch {
    text = ''
  }
  const lines = text.split('\n').filter(l => l.trim() !== '')
  let servers = lines.filter(l => /^nameserver\s/.test(l)).map(l => l.split(/\s+/)[1])
  const rest = lines.filter(l => !/^nameserver\s/.test(l) && !l.startsWith('#'))
  if (dns.length > 0) servers = dns
  else if (network === 'private') {
    // A loopback resolver on the host (systemd-resolved, dnsmasq) is not reachable
    // from the container's own network namespace: use slirp4netns's forwarder.
    const reachable = servers.filter(s => !s.startsWith('127.') && s !== '::1')
    servers = reachable.length > 0 ? reachable : [SLIRP_DNS]
  }
  return [...rest, ...servers.map(s => `nameserver ${s}`)].join('\n') + '\n'
}

export async function writeEtcFiles(dir: string, options: {hostname: string; name: string; network: 'none' | 'host' | 'private'; dns?: string[]; addHosts?: string[]}): Promise<EtcFiles> {
  const files: EtcFiles = {
    hosts: join(dir, 'hosts'),
    resolvConf: join(dir, 'resolv.conf'),
    hostname: join(dir, 'hostname'),
    containerEnv: join(dir, '.containerenv'),
  }
  const hosts = [
    '127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4',
    '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6',
    ...(options.addHosts ?? []).map(h => {
      const i = h.indexOf(':')
      return `${h.slice(i + 1)}\t${h.slice(0, i)}`
    }),
    `127.0.1.1\t${options.hostname} ${options.name}`,
  ]
  let hostHosts = ''
  if (options.network === 'host') {
    try {
      hostHosts = readFileSync('/etc/hosts', 'utf8')
    } catch {
      hostHosts = ''
    }
  }
  await Promise.all([
    writeFile(files.hosts, hostHosts ? hostHosts : hosts.join('\n') + '\n'),
    writeFile(files.resolvConf, resolvConfFor(options.network, options.dns)),
    writeFile(files.hostname, options.hostname + '\n'),
    writeFile(files.containerEnv, `engine="tspod"\nname="${options.name}"\nrootless=${process.getuid?.() === 0 ? 0 : 1}\n`),
  ])
  return files
}
