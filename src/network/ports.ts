/**
 * Published ports: `-p/--publish` in Podman's forms, `-P` (every exposed
 * port), the checks made before a container is created, and how ports are
 * shown by `ps`, `port` and `inspect`. A mapping covers one port; a range on
 * the command line becomes one mapping per port, and display joins runs of
 * consecutive ports back into ranges.
 */
import {readFileSync} from 'node:fs'
import {InvalidArgumentError} from '../errors/index.js'

export type PortProtocol = 'tcp' | 'udp'

export interface PortMapping {
  /** '' binds every address. */
  hostIp: string
  /** 0 until a free port is picked (`-p 80`, `-P`). */
  hostPort: number
  containerPort: number
  protocol: PortProtocol
}

const UNPRIVILEGED_PORT_SYSCTL = '/proc/sys/net/ipv4/ip_unprivileged_port_start'

/** 4, 6 or 0, as node:net's isIP, which this hot-path module does not load. */
export function ipFamily(text: string): 0 | 4 | 6 {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (v4) return v4.slice(1).every(n => Number(n) <= 255 && !/^0\d/.test(n)) ? 4 : 0
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return 0
  const halves = text.split('::')
  if (halves.length > 2) return 0
  const groups = (h: string) => (h === '' ? [] : h.split(':'))
  const all = halves.flatMap(groups)
  const last = all[all.length - 1] ?? ''
  const tail4 = last.includes('.') ? (ipFamily(last) === 4 ? 2 : -99) : 0
  const hex = all.slice(0, tail4 ? -1 : undefined)
  if (!hex.every(g => /^[0-9a-f]{1,4}$/i.test(g))) return 0
  const count = hex.length + tail4
  return (halves.length === 2 ? count < 8 : count === 8) && count >= 0 ? 6 : 0
}

function portRange(text: string, spec: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text)
  if (!m) throw new InvalidArgumentError(`invalid port format "${spec}": ${what} "${text}" is not a port number or range`)
  const first = Number(m[1])
  const last = m[2] === undefined ? first : Number(m[2])
  for (const port of [first, last]) {
    if (port < 1 || port > 65535) throw new InvalidArgumentError(`invalid port format "${spec}": ${what} ${port} is out of range (1-65535)`)
  }
  if (last < first) throw new InvalidArgumentError(`invalid port format "${spec}": ${what} range "${text}" ends before it starts`)
  return [first, last]
}

function protocolsOf(text: string | undefined, spec: string): PortProtocol[] {
  if (text === undefined || text === '') return ['tcp']
  const out: PortProtocol[] = []
  for (const p of text.toLowerCase().split(',')) {
    if (p !== 'tcp' && p !== 'udp') {
      throw new InvalidArgumentError(`invalid port format "${spec}": protocol "${p}" is not supported`, {hint: 'Use tcp or udp (sctp is not available rootless)'})
    }
    if (!out.includes(p)) out.push(p)
  }
  return out
}

/** Splits "[ip:][hostPort:]containerPort", where ip may be "[v6]"; undefined parts were left out. */
function splitSpec(body: string, spec: string): {ip?: string; host?: string; container: string} {
  if (body.startsWith('[')) {
    const close = body.indexOf(']')
    if (close < 0 || body[close + 1] !== ':') throw new InvalidArgumentError(`invalid port format "${spec}": expected [IPv6]:HOSTPORT:CONTAINERPORT`)
    const [host, container, ...extra] = body.slice(close + 2).split(':')
    if (container === undefined || extra.length > 0) throw new InvalidArgumentError(`invalid port format "${spec}": expected [IPv6]:HOSTPORT:CONTAINERPORT`)
    return {ip: body.slice(1, close), host, container}
  }
  const parts = body.split(':')
  if (parts.length === 1) return {container: parts[0]}
  if (parts.length === 2) return {host: parts[0], container: parts[1]}
  if (parts.length === 3) return {ip: parts[0], host: parts[1], container: parts[2]}
  throw new InvalidArgumentError(`invalid port format "${spec}": an IPv6 address must be in brackets, e.g. [::1]:8080:80`)
}

/**
 * One `-p` value in any of Podman's forms: `80`, `8080:80`, `127.0.0.1:8080:80`,
 * `127.0.0.1::80`, `[::1]:8080:80`, `8000-8001:80-81`, `8080:80/udp`,
 * `8080:80/tcp,udp`. A missing host port is 0 (picked later).
 */
export function parsePublish(spec: string): PortMapping[] {
  const slash = spec.lastIndexOf('/')
  // A slash inside brackets belongs to nothing we accept; only a trailing /proto counts.
  const hasProto = slash > spec.lastIndexOf(']') && slash > spec.lastIndexOf(':')
  const body = hasProto ? spec.slice(0, slash) : spec
  const protocols = protocolsOf(hasProto ? spec.slice(slash + 1) : undefined, spec)
  const {ip = '', host, container} = splitSpec(body, spec)
  if (ip !== '' && ipFamily(ip) === 0) throw new InvalidArgumentError(`invalid port format "${spec}": "${ip}" is not an IP address`)
  const [cFirst, cLast] = portRange(container, spec, 'container port')
  const count = cLast - cFirst + 1
  let hostPorts: number[]
  if (host === undefined || host === '') {
    hostPorts = new Array<number>(count).fill(0)
  } else {
    const [hFirst, hLast] = portRange(host, spec, 'host port')
    if (hLast - hFirst + 1 !== count) {
      throw new InvalidArgumentError(`invalid port format "${spec}": the host range ${host} and the container range ${container} differ in length`)
    }
    hostPorts = Array.from({length: count}, (_, i) => hFirst + i)
  }
  const hostIp = ip === '0.0.0.0' ? '' : ip
  const out: PortMapping[] = []
  for (const protocol of protocols) {
    for (let i = 0; i < count; i++) out.push({hostIp, hostPort: hostPorts[i], containerPort: cFirst + i, protocol})
  }
  return out
}

/** `-P`: every port the image exposes (`EXPOSE 80`, `EXPOSE 53/udp`), each to a free host port. */
export function exposedPortMappings(exposed: Record<string, unknown> | undefined, extra: string[] = []): PortMapping[] {
  const out: PortMapping[] = []
  for (const key of [...Object.keys(exposed ?? {}), ...extra]) {
    const [port, proto] = key.split('/')
    const [first, last] = portRange(port, key, 'exposed port')
    for (const protocol of protocolsOf(proto, key)) {
      for (let p = first; p <= last; p++) out.push({hostIp: '', hostPort: 0, containerPort: p, protocol})
    }
  }
  return out
}

/** -p wins over -P for the same container port and protocol, as in Podman. */
export function mergeMappings(published: PortMapping[], exposed: PortMapping[]): PortMapping[] {
  const taken = new Set(published.map(m => `${m.containerPort}/${m.protocol}`))
  return [...published, ...exposed.filter(m => !taken.has(`${m.containerPort}/${m.protocol}`))]
}

function bindKey(m: PortMapping): string {
  return `${m.hostIp}:${m.hostPort}/${m.protocol}`
}

/**
 * Refuses what can never work: the same host port twice, and, rootless, a
 * host port below net.ipv4.ip_unprivileged_port_start (binding it needs
 * CAP_NET_BIND_SERVICE in the host's namespace, which no rootless process has).
 */
export function checkMappings(mappings: PortMapping[], options: {rootless: boolean; unprivilegedPortStart?: number}): void {
  const seen = new Set<string>()
  for (const m of mappings) {
    if (m.hostPort === 0) continue
    const key = bindKey(m)
    const wildcard = `:${m.hostPort}/${m.protocol}`
    if (seen.has(key) || (m.hostIp === '' ? [...seen].some(k => k.endsWith(wildcard)) : seen.has(wildcard))) {
      throw new InvalidArgumentError(`host port ${m.hostPort}/${m.protocol} is published twice`, {hint: 'Give each -p its own host port'})
    }
    seen.add(key)
  }
  if (!options.rootless) return
  const start = options.unprivilegedPortStart ?? readUnprivilegedPortStart()
  const low = mappings.find(m => m.hostPort !== 0 && m.hostPort < start)
  if (low) {
    throw new InvalidArgumentError(
      `cannot publish host port ${low.hostPort}/${low.protocol}: rootless containers cannot bind ports below ${start} (net.ipv4.ip_unprivileged_port_start)`,
      {hint: `Publish a host port of ${start} or above (e.g. -p ${Math.max(start, 8080)}:${low.containerPort}), or as root: sysctl -w net.ipv4.ip_unprivileged_port_start=${low.hostPort}`},
    )
  }
}

export function readUnprivilegedPortStart(path = UNPRIVILEGED_PORT_SYSCTL): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim())
    return Number.isInteger(n) ? n : 1024
  } catch {
    return 1024
  }
}

/** A free port on the host for each mapping without one, as the kernel hands out ephemeral ports. */
export async function assignHostPorts(mappings: PortMapping[]): Promise<PortMapping[]> {
  if (!mappings.some(m => m.hostPort === 0)) return mappings
  const {createServer} = await import('node:net')
  const {createSocket} = await import('node:dgram')
  const used = new Set(mappings.filter(m => m.hostPort !== 0).map(m => `${m.hostPort}/${m.protocol}`))
  const pick = (m: PortMapping) =>
    new Promise<number>((resolve, reject) => {
      const host = m.hostIp || '0.0.0.0'
      if (m.protocol === 'udp') {
        const sock = createSocket(ipFamily(host) === 6 ? 'udp6' : 'udp4')
        sock.once('error', reject)
        sock.bind(0, host, () => {
          const {port} = sock.address()
          sock.close(() => resolve(port))
        })
        return
      }
      const server = createServer()
      server.once('error', reject)
      server.listen(0, host, () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
      })
    })
  const out: PortMapping[] = []
  for (const m of mappings) {
    if (m.hostPort !== 0) {
      out.push(m)
      continue
    }
    let port = await pick(m)
    for (let tries = 0; used.has(`${port}/${m.protocol}`) && tries < 10; tries++) port = await pick(m)
    used.add(`${port}/${m.protocol}`)
    out.push({...m, hostPort: port})
  }
  return out
}

/** The monitor's `--publish` values: proto:hostport:containerport[:hostip]. */
export function monitorPublishArgs(mappings: PortMapping[]): string[] {
  return mappings.flatMap(m => ['--publish', `${m.protocol}:${m.hostPort}:${m.containerPort}${m.hostIp ? `:${m.hostIp}` : ''}`])
}

function displayIp(ip: string): string {
  if (ip === '') return '0.0.0.0'
  return ipFamily(ip) === 6 ? `[${ip}]` : ip
}

/** Consecutive host and container ports of one address and protocol, joined as the user would write them. */
function groupRuns(mappings: PortMapping[]): Array<{first: PortMapping; count: number}> {
  const sorted = [...mappings].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.hostIp.localeCompare(b.hostIp) || a.containerPort - b.containerPort)
  const runs: Array<{first: PortMapping; count: number}> = []
  for (const m of sorted) {
    const last = runs[runs.length - 1]
    if (
      last &&
      last.first.protocol === m.protocol &&
      last.first.hostIp === m.hostIp &&
      last.first.containerPort + last.count === m.containerPort &&
      last.first.hostPort + last.count === m.hostPort
    ) {
      last.count++
    } else {
      runs.push({first: m, count: 1})
    }
  }
  return runs
}

/** `ps`'s PORTS column: `0.0.0.0:8080->80/tcp, 0.0.0.0:8000-8001->80-81/tcp`. */
export function formatPortsColumn(mappings: PortMapping[]): string {
  return groupRuns(mappings)
    .map(({first: m, count}) => {
      const range = (p: number) => (count > 1 ? `${p}-${p + count - 1}` : `${p}`)
      return `${displayIp(m.hostIp)}:${range(m.hostPort)}->${range(m.containerPort)}/${m.protocol}`
    })
    .join(', ')
}

/** `tspod port CONTAINER`: one `80/tcp -> 0.0.0.0:8080` line per port. */
export function formatPortLines(mappings: PortMapping[]): string[] {
  return mappings.map(m => `${m.containerPort}/${m.protocol} -> ${displayIp(m.hostIp)}:${m.hostPort}`)
}

/** `tspod port CONTAINER 80[/tcp]`: the host side of each matching mapping; undefined when the filter is malformed. */
export function findPublished(mappings: PortMapping[], filter: string): string[] | undefined {
  const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(filter)
  if (!m) return undefined
  const port = Number(m[1])
  const protocol = (m[2] ?? 'tcp') as PortProtocol
  return mappings.filter(p => p.containerPort === port && p.protocol === protocol).map(p => `${displayIp(p.hostIp)}:${p.hostPort}`)
}

/** inspect's NetworkSettings.Ports: every published or exposed port, null when not published. */
export function inspectPorts(mappings: PortMapping[], exposed: string[] = []): Record<string, Array<{HostIp: string; HostPort: string}> | null> {
  const out: Record<string, Array<{HostIp: string; HostPort: string}> | null> = {}
  for (const key of exposed) out[key.includes('/') ? key : `${key}/tcp`] = null
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`
    const list = out[key] ?? []
    list.push({HostIp: m.hostIp, HostPort: String(m.hostPort)})
    out[key] = list
  }
  return out
}

/** The mappings kept in a container's record; anything else there (an older record) means none. */
export function recordedMappings(value: unknown): PortMapping[] {
  if (!Array.isArray(value)) return []
  return value.filter(
    (m): m is PortMapping =>
      typeof m === 'object' && m !== null && typeof (m as PortMapping).hostPort === 'number' && typeof (m as PortMapping).containerPort === 'number',
  )
}
