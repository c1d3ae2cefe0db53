/**
 * User-defined networks as Podman 4 keeps them: one JSON file per network,
 * networks/<name>.json in the store, in the very shape netavark reads and
 * `network inspect` prints. The default network `podman` has no file: it
 * exists implicitly, as in Podman. Writes are atomic and serialised by a
 * lock; reads take no lock.
 */
import {randomBytes} from 'node:crypto'
import {readFileSync, readdirSync} from 'node:fs'
import {mkdir, unlink} from 'node:fs/promises'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'
import {InvalidArgumentError, NameInUseError, TspodError} from '../errors/index.js'
import {writeJsonAtomic} from '../util/atomic.js'
import {withLock} from '../util/lock.js'

export interface LeaseRange {
  start_ip?: string
  end_ip?: string
}

export interface NetworkSubnet {
  subnet: string
  gateway?: string
  lease_range?: LeaseRange
}

/** netavark's network definition; Podman prints it as is in `network inspect`. */
export interface NetworkRecord {
  name: string
  id: string
  driver: string
  network_interface: string
  created: string
  subnets: NetworkSubnet[]
  ipv6_enabled: boolean
  internal: boolean
  dns_enabled: boolean
  labels?: Record<string, string>
  options?: Record<string, string>
  ipam_options: Record<string, string>
}

export interface CreateNetworkOptions {
  name?: string
  driver?: string
  subnets?: string[]
  gateways?: string[]
  ipRanges?: string[]
  internal?: boolean
  disableDns?: boolean
  ipv6?: boolean
  labels?: Record<string, string>
  options?: Record<string, string>
  /** Succeed with the existing network when the name is taken (--ignore). */
  ignoreExisting?: boolean
}

/** Where networks are kept, given the store's graph root. */
export interface NetworkStoreLocation {
  graphRoot: string
}

export const DEFAULT_NETWORK_NAME = 'podman'
/** Podman's fixed id of its default network, so tools that know it recognise ours. */
const DEFAULT_NETWORK_ID = '2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9'
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const BRIDGE_OPTIONS = new Set(['mtu', 'vlan', 'isolate', 'metric', 'com.docker.network.bridge.name', 'com.docker.network.driver.mtu'])

export function networksDir(store: NetworkStoreLocation): string {
  return join(store.graphRoot, 'networks')
}

function networkFile(store: NetworkStoreLocation, name: string): string {
  return join(networksDir(store), `${name}.json`)
}

/** The default network: Podman's name, id, bridge and subnet, with DNS off as Podman has it. */
export function defaultNetwork(): NetworkRecord {
  return {
    name: DEFAULT_NETWORK_NAME,
    id: DEFAULT_NETWORK_ID,
    driver: 'bridge',
    network_interface: 'podman0',
    created: new Date().toISOString(),
    subnets: [{subnet: '10.88.0.0/16', gateway: '10.88.0.1'}],
    ipv6_enabled: false,
    internal: false,
    dns_enabled: false,
    ipam_options: {driver: 'host-local'},
  }
}

/** Every network, the default one first, then by name. Unreadable files are skipped: one bad file must not hide the rest. */
export function listNetworks(store: NetworkStoreLocation): NetworkRecord[] {
  let names: string[]
  try {
    names = readdirSync(networksDir(store)).filter(n => n.endsWith('.json') && !n.startsWith('.')).sort()
  } catch {
    names = []
  }
  const found: NetworkRecord[] = [defaultNetwork()]
  for (const file of names) {
    try {
      const record = JSON.parse(readFileSync(join(networksDir(store), file), 'utf8')) as NetworkRecord
      if (record.name !== DEFAULT_NETWORK_NAME) found.push(record)
    } catch {
      continue
    }
  }
  return found
}

/** A network by full name, full id or unique id prefix; undefined when none matches. */
export function readNetwork(store: NetworkStoreLocation, nameOrId: string): NetworkRecord | undefined {
  const all = listNetworks(store)
  const byName = all.find(n => n.name === nameOrId)
  if (byName) return byName
  if (!/^[0-9a-f]+$/.test(nameOrId)) return undefined
  const byId = all.filter(n => n.id.startsWith(nameOrId))
  if (byId.length > 1) throw new InvalidArgumentError(`network ${nameOrId}: more than one network matches this ID prefix`, {hint: 'Give more of the ID, or the name'})
  return byId[0]
}

export function networkNotFound(nameOrId: string): TspodError {
  return new TspodError(`unable to find network with name or ID ${nameOrId}: network not found`, {hint: `List networks with "tspod network ls", or create it: tspod network create ${nameOrId}`})
}

export function findNetwork(store: NetworkStoreLocation, nameOrId: string): NetworkRecord {
  const found = readNetwork(store, nameOrId)
  if (!found) throw networkNotFound(nameOrId)
  return found
}

export async function createNetwork(store: NetworkStoreLocation, options: CreateNetworkOptions): Promise<NetworkRecord> {
  const driver = options.driver ?? 'bridge'
  if (driver !== 'bridge') throw new InvalidArgumentError(`unsupported driver ${driver}: tspod creates bridge networks`, {hint: 'Drop -d/--driver, or use -d bridge'})
  if (options.name !== undefined && !NAME_PATTERN.test(options.name)) {
    throw new InvalidArgumentError(`network name ${options.name} invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`, {hint: 'Choose a name of letters, digits, "_", "." and "-" that starts with a letter or digit'})
  }
  for (const key of Object.keys(options.options ?? {})) {
    if (!BRIDGE_OPTIONS.has(key)) throw new InvalidArgumentError(`unsupported bridge network option ${key}`, {hint: 'The bridge driver takes mtu, vlan, isolate and metric'})
  }
  const subnets = buildSubnets(options)
  await mkdir(networksDir(store), {recursive: true, mode: 0o700})
  return withLock(join(networksDir(store), 'networks.lock'), async () => {
    const existing = listNetworks(store)
    const name = options.name ?? nextFreeName(existing)
    const taken = existing.find(n => n.name === name)
    if (taken) {
      if (options.ignoreExisting) return taken
      throw new NameInUseError(`network name ${name} already used: network already exists`, {hint: `Choose another name, remove it first (tspod network rm ${name}), or pass --ignore`})
    }
    const used = existing.flatMap(n => n.subnets.map(s => s.subnet))
    for (const s of subnets) {
      const clash = existing.find(n => n.subnets.some(o => subnetsOverlap(o.subnet, s.subnet)))
      if (clash) throw new InvalidArgumentError(`subnet ${s.subnet} is already used by network ${clash.name}`, {hint: 'Choose another --subnet, or leave it out to have a free one picked'})
    }
    // An IPv6-only --subnet with --ipv6 stays IPv6-only; otherwise every network has an IPv4 subnet.
    const wantsIpv4 = !subnets.some(s => !s.subnet.includes(':')) && (!options.ipv6 || subnets.length === 0)
    if (wantsIpv4) {
      const subnet = allocateSubnet([...used, ...hostSubnets()])
      subnets.unshift({subnet, gateway: firstHost(subnet)})
    }
    if (options.ipv6 && !subnets.some(s => s.subnet.includes(':'))) {
      const subnet = randomUlaSubnet()
      subnets.push({subnet, gateway: firstHost(subnet)})
    }
    const record: NetworkRecord = {
      name,
      id: randomBytes(32).toString('hex'),
      driver: 'bridge',
      network_interface: options.options?.['com.docker.network.bridge.name'] ?? nextBridgeName(existing),
      created: new Date().toISOString(),
      subnets,
      ipv6_enabled: options.ipv6 === true || subnets.some(s => s.subnet.includes(':')),
      internal: options.internal === true,
      dns_enabled: options.disableDns !== true,
      labels: options.labels ?? {},
      options: options.options ?? {},
      ipam_options: {driver: 'host-local'},
    }
    await writeJsonAtomic(networkFile(store, name), record)
    return record
  })
}

export async function removeNetworkRecord(store: NetworkStoreLocation, name: string): Promise<void> {
  if (name === DEFAULT_NETWORK_NAME) {
    throw new InvalidArgumentError(`default network ${name} cannot be removed`, {hint: 'It exists implicitly; remove only networks you created'})
  }
  await mkdir(networksDir(store), {recursive: true, mode: 0o700})
  await withLock(join(networksDir(store), 'networks.lock'), async () => {
    await unlink(networkFile(store, name)).catch(err => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    })
  })
}

/** --subnet, --gateway and --ip-range pair up by position, as in Podman. */
function buildSubnets(options: CreateNetworkOptions): NetworkSubnet[] {
  const subnets = options.subnets ?? []
  const gateways = options.gateways ?? []
  const ranges = options.ipRanges ?? []
  if (gateways.length > subnets.length) throw new InvalidArgumentError('cannot set more gateways than subnets', {hint: 'Give a --subnet for each --gateway'})
  if (ranges.length > subnets.length) throw new InvalidArgumentError('cannot set more ranges than subnets', {hint: 'Give a --subnet for each --ip-range'})
  const out: NetworkSubnet[] = []
  subnets.forEach((text, i) => {
    const cidr = parseCidr(text, '--subnet')
    const subnet = formatCidr(cidr)
    if (cidr.family === 6 && !options.ipv6) throw new InvalidArgumentError(`subnet ${subnet} is IPv6: IPv6 subnets need --ipv6`, {hint: `Add --ipv6`})
    const entry: NetworkSubnet = {subnet}
    const gateway = gateways[i] ?? firstHost(subnet)
    if (!cidrContains(cidr, parseIp(gateway, '--gateway'))) throw new InvalidArgumentError(`gateway ${gateway} not in subnet ${subnet}`, {hint: 'Pick a gateway address inside the subnet'})
    entry.gateway = formatIp(parseIp(gateway, '--gateway'))
    if (ranges[i] !== undefined) entry.lease_range = parseIpRange(ranges[i], cidr)
    out.push(entry)
  })
  return out
}

function parseIpRange(text: string, subnet: Cidr): LeaseRange {
  let first: Ip
  let last: Ip
  if (text.includes('-')) {
    const [a, b] = text.split('-')
    first = parseIp(a, '--ip-range')
    last = parseIp(b, '--ip-range')
  } else {
    const range = parseCidr(text, '--ip-range')
    first = {family: range.family, value: range.network + 1n}
    last = {family: range.family, value: lastAddress(range) - (range.family === 4 ? 1n : 0n)}
  }
  if (!cidrContains(subnet, first) || !cidrContains(subnet, last) || first.value > last.value) {
    throw new InvalidArgumentError(`ip range ${text} is not inside subnet ${formatCidr(subnet)}`, {hint: 'Give --ip-range as a CIDR or START-END inside the --subnet'})
  }
  return {start_ip: formatIp(first), end_ip: formatIp(last)}
}

function nextFreeName(existing: NetworkRecord[]): string {
  const names = new Set(existing.map(n => n.name))
  for (let i = 1; ; i++) if (!names.has(`podman${i}`)) return `podman${i}`
}

function nextBridgeName(existing: NetworkRecord[]): string {
  const names = new Set(existing.map(n => n.network_interface))
  for (let i = 1; ; i++) if (!names.has(`podman${i}`)) return `podman${i}`
}

/** Subnets of the host's own interfaces: a network over one of them would shadow the host's route. */
function hostSubnets(): string[] {
  const out: string[] = []
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && a.cidr && !a.internal) out.push(a.cidr)
  }
  return out
}

/** Podman's choice: the first 10.89.N.0/24 (then 10.90…) that overlaps nothing in use. */
export function allocateSubnet(used: string[]): string {
  const usedCidrs = used.flatMap(u => {
    try {
      return [parseCidr(u, 'subnet')]
    } catch {
      return []
    }
  })
  const start = (10n << 24n) | (89n << 16n)
  for (let n = 0n; n < 256n * 166n; n++) {
    const candidate: Cidr = {family: 4, network: start + (n << 8n), prefix: 24}
    if (!usedCidrs.some(u => u.family === 4 && cidrsOverlap(u, candidate))) return formatCidr(candidate)
  }
  throw new TspodError('allocating a subnet: every 10.89.0.0/24 to 10.255.255.0/24 is in use', {hint: 'Remove unused networks (tspod network prune) or give --subnet'})
}

function randomUlaSubnet(): string {
  const bytes = randomBytes(7)
  const groups = [0xfd00 | bytes[0], (bytes[1] << 8) | bytes[2], (bytes[3] << 8) | bytes[4], (bytes[5] << 8) | bytes[6]]
  return `${groups.map(g => g.toString(16)).join(':')}::/64`
}

export function subnetsOverlap(a: string, b: string): boolean {
  return cidrsOverlap(parseCidr(a, 'subnet'), parseCidr(b, 'subnet'))
}

/** The first usable address of a subnet: the gateway Podman picks. */
export function firstHost(subnet: string): string {
  const cidr = parseCidr(subnet, 'subnet')
  return formatIp({family: cidr.family, value: cidr.network + 1n})
}

// Addresses as bigints, so IPv4 and IPv6 share one arithmetic.
export interface Ip {
  family: 4 | 6
  value: bigint
}

export interface Cidr {
  family: 4 | 6
  network: bigint
  prefix: number
}

export function parseIp(text: string, what: string): Ip {
  const t = text.trim()
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t)
  if (v4) {
    const parts = v4.slice(1).map(Number)
    if (parts.every(p => p <= 255)) return {family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n)}
  } else if (t.includes(':') && /^[0-9a-fA-F:]+$/.test(t)) {
    const halves = t.split('::')
    if (halves.length <= 2) {
      const head = halves[0] === '' ? [] : halves[0].split(':')
      const tail = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : []
      const missing = 8 - head.length - tail.length
      if ((halves.length === 2 ? missing >= 1 : missing === 0) && [...head, ...tail].every(g => /^[0-9a-fA-F]{1,4}$/.test(g))) {
        const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail]
        return {family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)}
      }
    }
  }
  throw new InvalidArgumentError(`${what}: invalid IP address ${text}`, {hint: 'Give an address such as 10.89.0.5 or fd00::5'})
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map(s => String((ip.value >> s) & 255n)).join('.')
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map(s => Number((ip.value >> s) & 0xffffn))
  // The longest run of zero groups becomes "::", as RFC 5952 has it.
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (best === -1) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

export function parseCidr(text: string, what: string): Cidr {
  const [addr, bits, extra] = text.trim().split('/')
  const max = addr?.includes(':') ? 128 : 32
  if (extra !== undefined || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > max) {
    throw new InvalidArgumentError(`${what}: invalid CIDR ${text}`, {hint: 'Give a subnet such as 10.89.5.0/24'})
  }
  const ip = parseIp(addr, what)
  const prefix = Number(bits)
  const width = BigInt(ip.family === 4 ? 32 : 128)
  const mask = ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n)
  return {family: ip.family, network: ip.value & mask, prefix}
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({family: cidr.family, value: cidr.network})}/${cidr.prefix}`
}

export function lastAddress(cidr: Cidr): bigint {
  const width = BigInt(cidr.family === 4 ? 32 : 128)
  return cidr.network | ((1n << (width - BigInt(cidr.prefix))) - 1n)
}

export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  return cidr.family === ip.family && ip.value >= cidr.network && ip.value <= lastAddress(cidr)
}

function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= lastAddress(b) && b.network <= lastAddress(a)
}

/** A network as Go templates see it in Podman: its Go field names, labels as "k=v,…" in `ls`. */
export function networkTemplateView(network: NetworkRecord, options: {list?: boolean; noTrunc?: boolean} = {}): Record<string, unknown> {
  const labels = network.labels ?? {}
  return {
    Name: network.name,
    ID: options.list && !options.noTrunc ? network.id.slice(0, 12) : network.id,
    Driver: network.driver,
    NetworkInterface: network.network_interface,
    Created: network.created,
    Subnets: network.subnets.map(s => ({Subnet: s.subnet, Gateway: s.gateway ?? '', LeaseRange: s.lease_range ? {StartIP: s.lease_range.start_ip ?? '', EndIP: s.lease_range.end_ip ?? ''} : undefined})),
    IPv6Enabled: network.ipv6_enabled,
    Internal: network.internal,
    DNSEnabled: network.dns_enabled,
    Labels: options.list ? Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') : labels,
    Options: network.options ?? {},
    IPAMOptions: network.ipam_options,
  }
}

const LIST_FILTERS = new Set(['name', 'id', 'driver', 'label', 'label!', 'until', 'dangling'])

/** Splits `key=value` filters, refusing keys `allowed` does not hold, with Podman's wording. */
export function parseNetworkFilters(filters: string[], allowed: Set<string> = LIST_FILTERS): Array<[string, string]> {
  return filters.map(f => {
    const i = f.indexOf('=')
    const key = i === -1 ? f : f.slice(0, i)
    if (i === -1 || !allowed.has(key)) throw new InvalidArgumentError(`invalid filter "${f}"`, {hint: `Network filters are ${[...allowed].map(k => `${k}=`).join(', ')}`})
    return [key, f.slice(i + 1)]
  })
}

/**
 * Podman's semantics: values of one key are alternatives (any may match),
 * different keys must all match; name is a regular expression, id a prefix.
 * `isUsed` answers dangling=.
 */
export function networkMatchesFilters(network: NetworkRecord, filters: Array<[string, string]>, isUsed: (name: string) => boolean = () => false): boolean {
  const byKey = new Map<string, string[]>()
  for (const [k, v] of filters) byKey.set(k, [...(byKey.get(k) ?? []), v])
  const labels = network.labels ?? {}
  const hasLabel = (want: string) => {
    const i = want.indexOf('=')
    return i === -1 ? want in labels : labels[want.slice(0, i)] === want.slice(i + 1)
  }
  for (const [key, values] of byKey) {
    const ok = (() => {
      switch (key) {
        case 'name':
          return values.some(v => safeRegExp(v).test(network.name))
        case 'id':
          return values.some(v => network.id.startsWith(v))
        case 'driver':
          return values.includes(network.driver)
        case 'label':
          return values.every(hasLabel)
        case 'label!':
          return !values.some(hasLabel)
        case 'until':
          return values.every(v => Date.parse(network.created) < untilTime(v))
        case 'dangling':
          return values.every(v => (v === 'true' || v === '1') === !isUsed(network.name))
        default:
          return false
      }
    })()
    if (!ok) return false
  }
  return true
}

function safeRegExp(text: string): RegExp {
  try {
    return new RegExp(text)
  } catch {
    throw new InvalidArgumentError(`invalid filter name=${text}: not a regular expression`, {hint: 'Escape special characters, e.g. name=my\\.net'})
  }
}

/** A timestamp, a Unix time, or a duration ago (10m, 1h30m), as Podman's until= takes. */
function untilTime(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const duration = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value)
  if (duration && value !== '') return Date.now() - ((Number(duration[1] ?? 0) * 60 + Number(duration[2] ?? 0)) * 60 + Number(duration[3] ?? 0)) * 1000
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid filter until=${value}: not a time or duration`, {hint: 'Give a timestamp (2024-01-02T15:04:05Z), a Unix time, or a duration such as 24h'})
  return t
}
