/**
 * Containers on user-defined networks. A container's choice of networks
 * (names, aliases, static addresses) is kept with it, in
 * USERDATA/networks.json; what is set up while it runs is kept under the run
 * root, in RUNROOT/networks/attachments/ID.json: the exact netavark options
 * used (so teardown undoes precisely that, even after the container's own
 * files are gone) and the addresses netavark reported.
 *
 * The container's network namespace is a bind-mounted nsfs file,
 * RUNROOT/networks/netns/ID, made before the container starts so that
 * netavark can configure it first; the OCI spec joins it by path.
 *
 * Nothing here relies on a cleanup having run: every use sweeps attachments
 * whose container is no longer running (its monitor was killed, say), and a
 * rebuilt rootless namespace gets the running containers re-attached.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {mkdir, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {ContainerRecord} from '../container/container-store.js'
import {containerPaths, currentState, isActive, readContainerIndex, readRecord} from '../container/container-store.js'
import type {Engine} from '../engine/engine.js'
import type {OciSpec} from '../runtime/spec.js'
import type {Store} from '../storage/store.js'
import {writeJsonAtomic} from '../util/atomic.js'
import {isLiveProcess, processStartTime, withLock} from '../util/lock.js'
import {debug} from '../util/log.js'
import {
  DEFAULT_NETWORK_NAME,
  cidrContains,
  findNetwork,
  listNetworks,
  networkMatchesFilters,
  parseNetworkFilters,
  removeNetworkRecord,
  formatIp,
  lastAddress,
  parseCidr,
  parseIp,
  type NetworkRecord,
} from './network-store.js'
import {networkRunDir, runNetavark, type NetavarkOptions, type NetavarkStatus, type PerNetworkOptions} from './rootless-netns.js'

/** What `--network a --network b --network-alias … --ip … --mac-address …` asked for. */
export interface NetworkRequest {
  names: string[]
  aliases?: string[]
  ips?: string[]
  mac?: string
}

export interface ContainerNetwork {
  aliases: string[]
  staticIps: string[]
  staticMac?: string
  interfaceName: string
}

/** USERDATA/networks.json: the container's networks, in the order they were attached. */
export interface ContainerNetworks {
  networks: Record<string, ContainerNetwork>
  /** --dns servers, which come after the networks' own DNS in resolv.conf. */
  dns: string[]
}

interface Attachment {
  id: string
  netns: string
  /** The process setting it up: until the container runs, its life keeps the attachment from being swept. */
  owner: {pid: number; start?: string}
  options: NetavarkOptions
  status: Record<string, NetavarkStatus>
}

/** The --network values that are modes, not network names. */
const NETWORK_MODES = new Set(['', 'none', 'host', 'private', 'slirp4netns', 'pasta', 'bridge', 'default'])

/** True when a --network value names a user-defined network rather than a mode. */
export function isNetworkName(value: string): boolean {
  return !NETWORK_MODES.has(value) && !/^(ns|container|slirp4netns|pasta|bridge):/.test(value)
}

function configPath(store: Store, id: string): string {
  return join(containerPaths(store, id).userdata, 'networks.json')
}

function attachmentsDir(runRoot: string): string {
  return join(networkRunDir(runRoot), 'attachments')
}

function attachmentPath(runRoot: string, id: string): string {
  return join(attachmentsDir(runRoot), `${id}.json`)
}

/** Where the container's network namespace is bind-mounted while it runs. */
export function containerNetnsPath(runRoot: string, id: string): string {
  return join(networkRunDir(runRoot), 'netns', id)
}

export function readContainerNetworks(store: Store, id: string): ContainerNetworks | undefined {
  try {
    return JSON.parse(readFileSync(configPath(store, id), 'utf8')) as ContainerNetworks
  } catch {
    return undefined
  }
}

/** Whether the container joins user-defined networks (and so needs no slirp4netns of its own). */
export function usesUserNetworks(store: Store, id: string): boolean {
  return readContainerNetworks(store, id) !== undefined
}

function readAttachment(runRoot: string, id: string): Attachment | undefined {
  try {
    return JSON.parse(readFileSync(attachmentPath(runRoot, id), 'utf8')) as Attachment
  } catch {
    return undefined
  }
}

function listAttachments(runRoot: string): Attachment[] {
  let names: string[]
  try {
    names = readdirSync(attachmentsDir(runRoot)).filter(n => n.endsWith('.json') && !n.startsWith('.'))
  } catch {
    return []
  }
  return names.flatMap(n => {
    const a = readAttachment(runRoot, n.slice(0, -'.json'.length))
    return a ? [a] : []
  })
}

function withNetworkLock<T>(runRoot: string, fn: () => Promise<T>): Promise<T> {
  return mkdir(networkRunDir(runRoot), {recursive: true, mode: 0o700}).then(() => withLock(join(networkRunDir(runRoot), 'networks.lock'), fn))
}

/**
 * Checks a create's network request against the store and returns what to
 * keep with the container. Network names must exist; --ip needs exactly one
 * network, as in Podman.
 */
export function planContainerNetworks(store: Store, request: NetworkRequest, dns: string[] = []): ContainerNetworks {
  const names = [...new Set(request.names)]
  const ips = request.ips ?? []
  if (ips.length > 0 && names.length !== 1) throw new InvalidArgumentError('--ip can only be set for a single network', {hint: 'Give one --network with --ip, and use tspod network connect --ip for the others'})
  if (request.mac !== undefined && names.length !== 1) throw new InvalidArgumentError('--mac-address can only be set for a single network', {hint: 'Give one --network with --mac-address'})
  const networks: Record<string, ContainerNetwork> = {}
  names.forEach((value, i) => {
    const network = findNetwork(store, value)
    const staticIps = ips.map(ip => checkStaticIp(network, ip))
    networks[network.name] = {aliases: request.aliases ?? [], staticIps, staticMac: request.mac, interfaceName: `eth${i}`}
  })
  if (request.mac !== undefined && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(request.mac)) {
    throw new InvalidArgumentError(`invalid MAC address ${request.mac}`, {hint: 'Give it as six hex pairs, e.g. 92:d0:c6:0a:29:33'})
  }
  return {networks, dns}
}

function checkStaticIp(network: NetworkRecord, text: string): string {
  const ip = parseIp(text, '--ip')
  if (!network.subnets.some(s => cidrContains(parseCidr(s.subnet, 'subnet'), ip))) {
    throw new InvalidArgumentError(`requested static ip ${text} not in any subnet on network ${network.name}`, {hint: `Pick an address in ${network.subnets.map(s => s.subnet).join(', ')}`})
  }
  return formatIp(ip)
}

/** Kept with the container at create (USERDATA must exist). */
export async function writeContainerNetworks(store: Store, id: string, networks: ContainerNetworks): Promise<void> {
  await writeJsonAtomic(configPath(store, id), networks)
}

/** Points the spec's network namespace at the bind-mounted one that netavark configures. */
export function joinNetworkNamespace(spec: OciSpec, runRoot: string, id: string): void {
  const namespaces = spec.linux?.namespaces ?? []
  const entry = namespaces.find(n => n.type === 'network')
  const path = containerNetnsPath(runRoot, id)
  if (entry) entry.path = path
  else namespaces.push({type: 'network', path})
}

/**
 * Before the container starts: sets up each of its networks in its network
 * namespace (made here), records the attachment and writes the container's
 * /etc/hosts and /etc/resolv.conf to match.
 */
export async function setupContainerNetworks(engine: Engine, record: ContainerRecord): Promise<void> {
  const config = readContainerNetworks(engine.store, record.id)
  if (!config) return
  await withNetworkLock(engine.store.runRoot, async () => {
    await sweepLocked(engine)
    const previous = readAttachment(engine.store.runRoot, record.id)
    if (previous) await teardownLocked(engine, previous)
    const networks = Object.entries(config.networks)
    const options = buildOptions(engine, record, networks)
    const attachment: Attachment = {id: record.id, netns: containerNetnsPath(engine.store.runRoot, record.id), owner: ownerToken(), options, status: {}}
    // Written first: addresses are taken from here, and a crash midway leaves something to sweep.
    await writeAttachment(engine.store.runRoot, attachment)
    const run = await runNetavark(engine.store.runRoot, 'setup', {netns: attachment.netns, options})
    attachment.status = run.status
    await writeAttachment(engine.store.runRoot, attachment)
    if (run.rebuilt) await reattachLocked(engine, record.id)
    await writeEtcFiles(engine.store, record, config, attachment)
  })
}

/**
 * After the container stopped (or was never started): undoes its networks
 * and drops its namespace. A container that still runs keeps them.
 */
export async function teardownContainerNetworks(engine: Engine, id: string): Promise<void> {
  if (!existsSync(attachmentPath(engine.store.runRoot, id))) return
  if (isRunning(engine.store, id)) return
  await withNetworkLock(engine.store.runRoot, async () => {
    const attachment = readAttachment(engine.store.runRoot, id)
    if (attachment) await teardownLocked(engine, attachment)
  })
}

function isRunning(store: Store, id: string): boolean {
  try {
    return isActive(currentState(store, id))
  } catch {
    return false
  }
}

/** Attachments of containers that no longer run and that no live tspod is setting up. */
function staleAttachments(engine: Engine): Attachment[] {
  return listAttachments(engine.store.runRoot).filter(a => {
    if (isLiveProcess(a.owner.pid, a.owner.start) && a.owner.pid !== process.pid) return false
    try {
      return !isActive(currentState(engine.store, a.id))
    } catch {
      return true
    }
  })
}

/** Tears down what containers that are gone left behind; cheap when there is nothing. */
export async function sweepStaleNetworks(engine: Engine): Promise<void> {
  if (staleAttachments(engine).length === 0) return
  await withNetworkLock(engine.store.runRoot, () => sweepLocked(engine))
}

async function sweepLocked(engine: Engine): Promise<void> {
  for (const a of staleAttachments(engine)) {
    debug(`sweeping the networks of ${a.id.slice(0, 12)}: the container no longer runs`)
    await teardownLocked(engine, a)
  }
}

async function teardownLocked(engine: Engine, attachment: Attachment): Promise<void> {
  try {
    await runNetavark(engine.store.runRoot, 'teardown', {netns: attachment.netns, options: attachment.options, removeNetns: true})
  } catch (err) {
    // The namespace is dropped regardless; what netavark could not undo dies with it.
    debug(`teardown of ${attachment.id.slice(0, 12)}: ${(err as Error).message}`)
  }
  await rm(attachmentPath(engine.store.runRoot, attachment.id), {force: true})
}

/** After a rebuild of the rootless namespace, every other running container's networks are set up anew. */
async function reattachLocked(engine: Engine, except: string): Promise<void> {
  for (const a of listAttachments(engine.store.runRoot)) {
    if (a.id === except) continue
    if (staleAttachments(engine).some(s => s.id === a.id)) continue
    debug(`re-attaching ${a.id.slice(0, 12)} to the rebuilt rootless network namespace`)
    try {
      const run = await runNetavark(engine.store.runRoot, 'setup', {netns: a.netns, options: a.options})
      await writeAttachment(engine.store.runRoot, {...a, status: run.status})
    } catch (err) {
      debug(`re-attaching ${a.id.slice(0, 12)}: ${(err as Error).message}`)
    }
  }
}

/**
 * `network reload`: tears down and sets up again the networks of running
 * containers (all of them when `ids` is undefined), keeping their addresses.
 * Returns the ids reloaded.
 */
export async function reloadContainerNetworks(engine: Engine, ids?: string[]): Promise<string[]> {
  return withNetworkLock(engine.store.runRoot, async () => {
    await sweepLocked(engine)
    const done: string[] = []
    for (const a of listAttachments(engine.store.runRoot)) {
      if (ids && !ids.includes(a.id)) continue
      // Teardown of the old interfaces fails harmlessly when a rebuild already took them.
      await runNetavark(engine.store.runRoot, 'teardown', {netns: a.netns, options: a.options}).catch(() => undefined)
      const run = await runNetavark(engine.store.runRoot, 'setup', {netns: a.netns, options: a.options})
      await writeAttachment(engine.store.runRoot, {...a, status: run.status})
      done.push(a.id)
    }
    return done
  })
}

/** Connects a container to one more network; a running one gets the interface at once. */
export async function connectContainer(engine: Engine, record: ContainerRecord, networkName: string, request: {aliases?: string[]; ip?: string; mac?: string} = {}): Promise<void> {
  const network = findNetwork(engine.store, networkName)
  const config = readContainerNetworks(engine.store, record.id)
  if (!config) {
    throw new InvalidArgumentError(`network connect ${network.name} ${record.name}: the container uses network mode ${record.network === 'private' ? 'slirp4netns' : record.network}, not user-defined networks`, {hint: `Create the container with --network ${network.name} instead`})
  }
  if (config.networks[network.name]) throw new TspodError(`container ${record.id} is already connected to network "${network.name}": network is already connected`, {hint: `Disconnect it first: tspod network disconnect ${network.name} ${record.name}`})
  const used = new Set(Object.values(config.networks).map(n => n.interfaceName))
  let index = 0
  while (used.has(`eth${index}`)) index++
  config.networks[network.name] = {aliases: request.aliases ?? [], staticIps: request.ip ? [checkStaticIp(network, request.ip)] : [], staticMac: request.mac, interfaceName: `eth${index}`}
  await withNetworkLock(engine.store.runRoot, async () => {
    const attachment = readAttachment(engine.store.runRoot, record.id)
    if (attachment && isActive(currentState(engine.store, record.id))) {
      const single = buildOptions(engine, record, [[network.name, config.networks[network.name]]])
      const run = await runNetavark(engine.store.runRoot, 'setup', {netns: attachment.netns, options: single})
      attachment.options.networks = {...attachment.options.networks, ...single.networks}
      attachment.options.network_info = {...attachment.options.network_info, ...single.network_info}
      attachment.status = {...attachment.status, ...run.status}
      await writeAttachment(engine.store.runRoot, attachment)
      await writeEtcFiles(engine.store, record, config, attachment)
    }
    await writeContainerNetworks(engine.store, record.id, config)
  })
}

/** Disconnects a container from a network; a running one loses the interface at once. */
export async function disconnectContainer(engine: Engine, record: ContainerRecord, networkName: string): Promise<void> {
  const network = findNetwork(engine.store, networkName)
  const config = readContainerNetworks(engine.store, record.id)
  if (!config?.networks[network.name]) throw new TspodError(`container ${record.id} is not connected to network ${network.name}: network is not connected`, {hint: `See its networks with: tspod inspect ${record.name}`})
  await withNetworkLock(engine.store.runRoot, async () => {
    const attachment = readAttachment(engine.store.runRoot, record.id)
    if (attachment?.options.networks[network.name] && isActive(currentState(engine.store, record.id))) {
      const single: NetavarkOptions = {
        ...attachment.options,
        networks: {[network.name]: attachment.options.networks[network.name]},
        network_info: {[network.name]: attachment.options.network_info[network.name]},
      }
      await runNetavark(engine.store.runRoot, 'teardown', {netns: attachment.netns, options: single})
      delete attachment.options.networks[network.name]
      delete attachment.options.network_info[network.name]
      delete attachment.status[network.name]
      await writeAttachment(engine.store.runRoot, attachment)
      delete config.networks[network.name]
      await writeEtcFiles(engine.store, record, config, attachment)
    }
    delete config.networks[network.name]
    await writeContainerNetworks(engine.store, record.id, config)
  })
}

/** Ids of containers (running or not) configured to use the network. */
export function containersUsingNetwork(store: Store, name: string): string[] {
  return readContainerIndex(store)
    .filter(entry => readContainerNetworks(store, entry.id)?.networks[name] !== undefined)
    .map(entry => entry.id)
}

/** Per network: the addresses a running container got, for inspect. */
export function containerNetworkStatus(store: Store, id: string): Record<string, NetavarkStatus> {
  return readAttachment(store.runRoot, id)?.status ?? {}
}

function ownerToken(): Attachment['owner'] {
  return {pid: process.pid, start: processStartTime(process.pid)}
}

async function writeAttachment(runRoot: string, attachment: Attachment): Promise<void> {
  await mkdir(attachmentsDir(runRoot), {recursive: true, mode: 0o700})
  await writeJsonAtomic(attachmentPath(runRoot, attachment.id), attachment)
}

function buildOptions(engine: Engine, record: ContainerRecord, networks: Array<[string, ContainerNetwork]>): NetavarkOptions {
  const options: NetavarkOptions = {container_id: record.id, container_name: record.name, port_mappings: null, networks: {}, network_info: {}}
  for (const [name, wanted] of networks) {
    const network = findNetwork(engine.store, name)
    const perNetwork: PerNetworkOptions = {
      static_ips: allocateAddresses(engine, record.id, network, wanted.staticIps),
      // netavark adds the container's name itself; Podman adds the short ID.
      aliases: [...new Set([record.id.slice(0, 12), ...wanted.aliases])],
      interface_name: wanted.interfaceName,
    }
    if (wanted.staticMac) perNetwork.static_mac = wanted.staticMac
    options.networks[network.name] = perNetwork
    options.network_info[network.name] = network
  }
  return options
}

/**
 * One address per subnet: the static one asked for, or the lowest free one
 * in the lease range (the whole subnet without network, gateway and
 * broadcast addresses by default). Addresses in use are those of the other
 * attachments, which the caller's lock keeps still.
 */
function allocateAddresses(engine: Engine, id: string, network: NetworkRecord, staticIps: string[]): string[] {
  const used = new Set<string>()
  for (const a of listAttachments(engine.store.runRoot)) {
    if (a.id === id) continue
    for (const ip of a.options.networks[network.name]?.static_ips ?? []) used.add(ip)
  }
  const out: string[] = []
  for (const subnet of network.subnets) {
    const cidr = parseCidr(subnet.subnet, 'subnet')
    const wanted = staticIps.find(ip => cidrContains(cidr, parseIp(ip, '--ip')))
    if (wanted) {
      if (used.has(wanted)) throw new TspodError(`requested ip address ${wanted} is already allocated to another container on network ${network.name}`, {hint: 'Pick another --ip, or leave it out to get a free address'})
      out.push(wanted)
      continue
    }
    const gateway = subnet.gateway
    let first = cidr.network + 1n
    let last = lastAddress(cidr) - (cidr.family === 4 ? 1n : 0n)
    if (subnet.lease_range?.start_ip) first = parseIp(subnet.lease_range.start_ip, 'lease range').value
    if (subnet.lease_range?.end_ip) last = parseIp(subnet.lease_range.end_ip, 'lease range').value
    let found: string | undefined
    for (let v = first; v <= last && found === undefined; v++) {
      const text = formatIp({family: cidr.family, value: v})
      if (text !== gateway && !used.has(text)) found = text
    }
    if (!found) throw new TspodError(`no free address left in subnet ${subnet.subnet} of network ${network.name}`, {hint: 'Stop containers on it, or create a network with a larger --subnet'})
    out.push(found)
  }
  return out
}

/** The host's search and options lines, and its nameservers a container can reach (not loopback). */
function hostResolv(): {search: string[]; options: string[]; servers: string[]} {
  let text = ''
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8')
  } catch {
    text = ''
  }
  const search: string[] = []
  const options: string[] = []
  const servers: string[] = []
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/)
    if (key === 'search' || key === 'domain') search.push(...rest)
    else if (key === 'options') options.push(rest.join(' '))
    else if (key === 'nameserver' && rest[0] && !rest[0].startsWith('127.') && rest[0] !== '::1') servers.push(rest[0])
  }
  return {search, options, servers}
}

/**
 * /etc/resolv.conf: aardvark-dns on the gateway of each DNS-enabled network
 * first (it forwards other names upstream), then --dns servers, or the host's
 * when no network answers names. /etc/hosts: the container's own addresses
 * under its hostname and name. Written in place, as they are bind-mounted
 * into a running container.
 */
async function writeEtcFiles(store: Store, record: ContainerRecord, config: ContainerNetworks, attachment: Attachment): Promise<void> {
  const userdata = containerPaths(store, record.id).userdata
  const host = hostResolv()
  const dnsServers: string[] = []
  const ips: string[] = []
  for (const name of Object.keys(config.networks)) {
    const status = attachment.status[name]
    if (!status) continue
    for (const server of status.dns_server_ips ?? []) if (!dnsServers.includes(server)) dnsServers.push(server)
    for (const iface of Object.values(status.interfaces ?? {})) for (const s of iface.subnets ?? []) ips.push(s.ipnet.split('/')[0])
  }
  const servers = [...dnsServers, ...(config.dns.length > 0 ? config.dns : dnsServers.length > 0 ? [] : host.servers)]
  const search = [...(dnsServers.length > 0 ? ['dns.podman'] : []), ...host.search]
  const resolv = [
    ...(search.length > 0 ? [`search ${search.join(' ')}`] : []),
    ...servers.map(s => `nameserver ${s}`),
    ...host.options.map(o => `options ${o}`),
  ]
  await writeFile(join(userdata, 'resolv.conf'), resolv.join('\n') + '\n')

  const hostsPath = join(userdata, 'hosts')
  let current = ''
  try {
    current = readFileSync(hostsPath, 'utf8')
  } catch {
    current = ''
  }
  const ownNames = `${record.hostname} ${record.name}`
  const kept = current.split('\n').filter(line => line.trim() !== '' && line.split('\t').slice(1).join('\t').trim() !== ownNames)
  const own = (ips.length > 0 ? ips : ['127.0.1.1']).map(ip => `${ip}\t${ownNames}`)
  await writeFile(hostsPath, [...kept, ...own].join('\n') + '\n')
}

export interface RemoveNetworkOptions {
  force?: boolean
  /** With force: removes a container that uses the network (the CLI passes the lifecycle's removal). */
  removeContainer?: (id: string) => Promise<void>
}

/**
 * `network rm`: a network in use stays unless `force`, which removes the
 * containers on it first, as Podman does. Exit code 2 for in use, as Podman.
 */
export async function removeNetwork(engine: Engine, nameOrId: string, options: RemoveNetworkOptions = {}): Promise<string> {
  const network = findNetwork(engine.store, nameOrId)
  if (network.name === DEFAULT_NETWORK_NAME) throw new InvalidArgumentError(`default network ${network.name} cannot be removed`, {hint: 'It exists implicitly; remove only networks you created'})
  const users = containersUsingNetwork(engine.store, network.name)
  if (users.length > 0) {
    if (!options.force || !options.removeContainer) {
      const names = users.map(id => readContainerIndex(engine.store).find(e => e.id === id)?.names[0] ?? id.slice(0, 12))
      throw new TspodError(`network ${network.name} is being used by container${names.length === 1 ? '' : 's'} ${names.join(', ')}: network is being used`, {exitCode: 2, hint: `Remove ${names.length === 1 ? 'it' : 'them'} first, or use: tspod network rm -f ${network.name}`})
    }
    for (const id of users) await options.removeContainer(id)
  }
  await removeNetworkRecord(engine.store, network.name)
  return network.name
}

/** `network prune`: removes every network no container uses (never the default one); returns their names. */
export async function pruneNetworks(engine: Engine, filters: string[]): Promise<string[]> {
  const parsed = parseNetworkFilters(filters, new Set(['label', 'label!', 'until']))
  const removed: string[] = []
  for (const network of listNetworks(engine.store)) {
    if (network.name === DEFAULT_NETWORK_NAME) continue
    if (!networkMatchesFilters(network, parsed)) continue
    if (containersUsingNetwork(engine.store, network.name).length > 0) continue
    await removeNetworkRecord(engine.store, network.name)
    removed.push(network.name)
  }
  return removed
}
