/**
 * The files tspod writes for each container and the runtime bind-mounts:
 * /etc/hosts, /etc/resolv.conf, /etc/hostname and /run/.containerenv. They
 * follow the container's network: its own address and host.containers.internal
 * in /etc/hosts, and name servers it can actually reach in /etc/resolv.conf.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {InvalidArgumentError} from '../errors/index.js'
import type {NetworkSettings} from '../network/backend.js'
import {ipFamily} from '../network/ports.js'

export interface EtcFiles {
  /** Undefined with --no-hosts: the image's own /etc/hosts stays. */
  hosts?: string
  /** Undefined with --dns none: the image's own /etc/resolv.conf stays. */
  resolvConf?: string
  hostname: string
  containerEnv: string
}

export interface EtcOptions {
  hostname: string
  name: string
  network: NetworkSettings
  /** --dns, else containers.conf dns_servers; ['none'] leaves resolv.conf to the image. */
  dns?: string[]
  dnsSearch?: string[]
  dnsOptions?: string[]
  addHosts?: string[]
  noHosts?: boolean
}

const HOST_GATEWAY = 'host-gateway'
const GATEWAY_NAME = 'host.containers.internal'

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/** `--add-host NAME:IP` (IP may be IPv6, unbracketed, or host-gateway) as a hosts line. */
export function addHostLine(entry: string, gateway: string | undefined): string {
  const i = entry.indexOf(':')
  const names = i < 0 ? '' : entry.slice(0, i)
  let ip = i < 0 ? '' : entry.slice(i + 1)
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1)
  if (names === '' || ip === '') throw new InvalidArgumentError(`invalid --add-host "${entry}": expected HOST:IP`)
  if (ip === HOST_GATEWAY) {
    if (!gateway) throw new InvalidArgumentError(`--add-host ${entry}: this container's network has no route to the host`, {hint: 'host-gateway needs the default network (or --network host)'})
    ip = gateway
  } else if (ipFamily(ip) === 0) {
    throw new InvalidArgumentError(`invalid --add-host "${entry}": "${ip}" is not an IP address`)
  }
  return `${ip}\t${names.split(';').join(' ')}`
}

export function hostsFor(options: EtcOptions, hostHosts = '/etc/hosts'): string {
  const {network} = options
  const gateway = network.hostGateway
  const added = (options.addHosts ?? []).map(h => addHostLine(h, gateway))
  if (network.mode === 'host') {
    // The host's names are the container's; only what was added on the command line comes on top.
    return [...added, readText(hostHosts).trimEnd()].join('\n') + '\n'
  }
  const self = network.containerIp ?? '127.0.1.1'
  const lines = [
    ...added,
    '127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4',
    '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6',
    `${self}\t${options.hostname} ${options.name}`,
  ]
  if (gateway && network.mode !== 'none') lines.push(`${gateway}\t${GATEWAY_NAME}`)
  return lines.join('\n') + '\n'
}

/**
 * resolv.conf: --dns/--dns-search/--dns-option replace the host's servers,
 * search list and options. A name server on the host's loopback (a local
 * resolver) cannot be reached from the container's own namespace and is
 * left out; if none remains, slirp4netns's forwarder answers instead.
 */
export function resolvConfFor(options: Pick<EtcOptions, 'network' | 'dns' | 'dnsSearch' | 'dnsOptions'>, hostResolv = '/etc/resolv.conf'): string {
  const {network} = options
  const lines = readText(hostResolv).split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#') && !l.startsWith(';'))
  const field = (key: string) => lines.filter(l => l.split(/\s+/)[0] === key).flatMap(l => l.split(/\s+/).slice(1))
  let servers = field('nameserver')
  if (options.dns && options.dns.length > 0) {
    for (const s of options.dns) if (ipFamily(s) === 0) throw new InvalidArgumentError(`invalid --dns "${s}": not an IP address`)
    servers = options.dns
  } else if (network.mode !== 'host') {
    const reachable = servers.filter(s => !s.startsWith('127.') && s !== '::1')
    servers = reachable.length > 0 ? reachable : network.dnsForwarder ? [network.dnsForwarder] : []
  }
  const search = options.dnsSearch && options.dnsSearch.length > 0 ? options.dnsSearch.filter(d => d !== '.') : field('search')
  const opts = options.dnsOptions && options.dnsOptions.length > 0 ? options.dnsOptions : field('options')
  const out: string[] = []
  if (search.length > 0) out.push(`search ${search.join(' ')}`)
  out.push(...servers.map(s => `nameserver ${s}`))
  if (opts.length > 0) out.push(`options ${opts.join(' ')}`)
  return out.join('\n') + '\n'
}

export async function writeEtcFiles(dir: string, options: EtcOptions): Promise<EtcFiles> {
  const noResolv = options.dns?.length === 1 && options.dns[0] === 'none'
  const files: EtcFiles = {
    hosts: options.noHosts ? undefined : join(dir, 'hosts'),
    resolvConf: noResolv ? undefined : join(dir, 'resolv.conf'),
    hostname: join(dir, 'hostname'),
    containerEnv: join(dir, '.containerenv'),
  }
  // Four small files: plain syscalls cost less than the thread pool's round trips.
  writeFileSync(files.hostname, options.hostname + '\n')
  writeFileSync(files.containerEnv, `engine="tspod"\nname="${options.name}"\nrootless=${process.getuid?.() === 0 ? 0 : 1}\n`)
  if (files.hosts) writeFileSync(files.hosts, hostsFor(options))
  if (files.resolvConf) writeFileSync(files.resolvConf, resolvConfFor({...options, dns: noResolv ? [] : options.dns}))
  return files
}
