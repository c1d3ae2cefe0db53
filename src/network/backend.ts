/**
 * The container's network: which namespace it gets (`--network`), and for a
 * namespace of its own, which program gives it egress and publishes its
 * ports. Rootless, tspod cannot create veth pairs or bridges; a user-mode
 * network stack does the job: slirp4netns (a tap device backed by libslirp)
 * or pasta (a tap device whose traffic pasta translates to ordinary sockets).
 * The monitor runs and ends the backend (docs/networking.md); this module
 * only decides and describes.
 */
import {accessSync, constants, readFileSync} from 'node:fs'
import {networkInterfaces} from 'node:os'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import {
  assignHostPorts,
  checkMappings,
  exposedPortMappings,
  formatPortsColumn,
  inspectPorts,
  ipFamily,
  mergeMappings,
  monitorPublishArgs,
  recordedMappings,
  type PortMapping,
} from './ports.js'

export type NetworkBackendName = 'slirp4netns' | 'pasta'

/** What `--network` asked for, before anything is looked up. */
export type NetworkFlag =
  | {kind: 'default'}
  | {kind: 'none'}
  | {kind: 'host'}
  | {kind: 'backend'; backend: NetworkBackendName; options: string[]}
  | {kind: 'container'; container: string}
  | {kind: 'ns'; path: string}
  | {kind: 'named'; name: string}

/** The network as decided at create and kept in the container's record. */
export interface NetworkSettings {
  /** none: loopback only; host: the host's namespace; private: its own, with a backend; joined: another namespace. */
  mode: 'none' | 'host' | 'private' | 'joined'
  backend?: NetworkBackendName
  /** Why this backend (for inspect and debugging). */
  backendReason?: string
  /** The backend's own arguments, derived from the --network options. */
  backendArgs?: string[]
  /** container:NAME: the container whose namespace is joined (its id). */
  container?: string
  /** ns:PATH, or the /proc path of the joined container's namespace. */
  nsPath?: string
  /** The address the container reaches the host at: host.containers.internal and --add-host NAME:host-gateway. */
  hostGateway?: string
  /** The container's own address on its network, for /etc/hosts. */
  containerIp?: string
  /** A DNS server the backend forwards to the host's resolvers (used when the host's are unreachable). */
  dnsForwarder?: string
}

export interface BackendChoice {
  name: NetworkBackendName
  path: string
  reason: string
}

const SLIRP_DEFAULT_CIDR = '10.0.2.0/24'

/** `--network` (and `--net`) in Podman's forms; user-defined names go to resolveNamedNetwork. */
export function parseNetworkFlag(value: string | undefined): NetworkFlag {
  if (value === undefined || value === '' || value === 'default' || value === 'private') return {kind: 'default'}
  if (value === 'none') return {kind: 'none'}
  if (value === 'host') return {kind: 'host'}
  const colon = value.indexOf(':')
  const word = colon < 0 ? value : value.slice(0, colon)
  const rest = colon < 0 ? '' : value.slice(colon + 1)
  if (word === 'slirp4netns' || word === 'pasta') {
    return {kind: 'backend', backend: word, options: rest === '' ? [] : rest.split(',')}
  }
  if (word === 'container') {
    if (rest === '') throw new InvalidArgumentError(`invalid network "${value}": expected container:NAME`)
    return {kind: 'container', container: rest}
  }
  if (word === 'ns') {
    if (!rest.startsWith('/')) throw new InvalidArgumentError(`invalid network "${value}": expected ns:/absolute/path/of/a/network/namespace`)
    return {kind: 'ns', path: rest}
  }
  if (word === 'bridge' && rest === '') return {kind: 'default'}
  if (colon >= 0) throw new InvalidArgumentError(`invalid network "${value}": only slirp4netns:, pasta:, container: and ns: take options`)
  return {kind: 'named', name: value}
}

/**
 * The hook for user-defined networks (`tspod network create`): turns a name
 * into the settings of a container attached to it. Until that exists, a name
 * is an error that says what is available.
 */
export function resolveNamedNetwork(name: string): NetworkSettings {
  throw new TspodError(`network ${name}: no such network`, {
    exitCode: 125,
    hint: 'Rootless containers use --network private (the default), slirp4netns[:OPTIONS], pasta[:OPTIONS], none, host, container:NAME or ns:PATH',
  })
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The backend's program: containers.conf's network_cmd_path for slirp4netns, then PATH and the usual places. */
export function findBackend(name: NetworkBackendName, cmdPath?: string): string | undefined {
  if (name === 'slirp4netns' && cmdPath && executable(cmdPath)) return cmdPath
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/bin', '/usr/bin', '/bin']
  for (const dir of dirs) if (executable(`${dir}/${name}`)) return `${dir}/${name}`
  return undefined
}

/**
 * Which backend a container with its own namespace gets when --network does
 * not say. Measured on this project's machine: slirp4netns 1.2 is ready in
 * about 4 ms, the 2023 pasta in about 30 ms (60-90 ms when attached by pid);
 * both reach the outside and both keep a remote client's address on published
 * ports. Clients on the host's loopback do not go through slirp4netns (about
 * half of pasta's speed there) but through the monitor's loopback forwarder,
 * as fast as pasta's splice; and this pasta loses the peer's FIN on about a
 * third of the connections the container opens (the container's side then
 * never sees the end of the stream), which breaks ordinary clients. So slirp4netns
 * when it is installed, pasta otherwise, and pasta for a port published on an
 * IPv6 address, which slirp4netns 1.2 cannot forward; containers.conf's
 * default_rootless_network_cmd overrides.
 */
export function chooseBackend(options: {configured?: string; cmdPath?: string; needsIpv6Publish?: boolean}): BackendChoice {
  const {configured, cmdPath} = options
  if (configured !== undefined && configured !== '') {
    if (configured !== 'slirp4netns' && configured !== 'pasta') {
      throw new InvalidArgumentError(`containers.conf: default_rootless_network_cmd = "${configured}": expected slirp4netns or pasta`)
    }
    const path = findBackend(configured, cmdPath)
    if (!path) throw new TspodError(`${configured} (default_rootless_network_cmd in containers.conf) is not installed`, {hint: `Install it (as root: apt-get install ${configured === 'pasta' ? 'passt' : 'slirp4netns'}) or change containers.conf`})
    return {name: configured, path, reason: 'default_rootless_network_cmd in containers.conf'}
  }
  const slirp = findBackend('slirp4netns', cmdPath)
  const pasta = findBackend('pasta')
  if (options.needsIpv6Publish && pasta) return {name: 'pasta', path: pasta, reason: 'a port is published on an IPv6 address, which slirp4netns 1.2 cannot forward'}
  if (slirp) {
    return {name: 'slirp4netns', path: slirp, reason: 'slirp4netns is ready in about 4 ms here, pasta in about 30 ms, and this pasta loses the end (FIN) of some connections the container opens'}
  }
  if (pasta) return {name: 'pasta', path: pasta, reason: 'slirp4netns is not installed'}
  throw new TspodError('rootless networking: neither slirp4netns nor pasta is installed', {hint: 'As root: apt-get install slirp4netns (or passt), or run with --network none'})
}

function booleanOption(key: string, value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true
  if (value === 'false') return false
  throw new InvalidArgumentError(`slirp4netns option ${key}=${value}: expected true or false`)
}

/** slirp4netns's arguments for Podman's slirp4netns:OPTIONS (besides --configure and the fds the monitor adds). */
export function slirpArgs(options: string[]): string[] {
  let mtu = '65520'
  let hostLoopback = false
  const args: string[] = []
  for (const option of options) {
    const eq = option.indexOf('=')
    const key = eq < 0 ? option : option.slice(0, eq)
    const value = eq < 0 ? undefined : option.slice(eq + 1)
    switch (key) {
      case 'allow_host_loopback':
        hostLoopback = booleanOption(key, value)
        break
      case 'enable_ipv6':
        if (booleanOption(key, value)) args.push('--enable-ipv6')
        break
      case 'cidr':
        if (!value || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(value)) throw new InvalidArgumentError(`slirp4netns option cidr=${value ?? ''}: expected an IPv4 network such as 10.0.3.0/24`)
        args.push(`--cidr=${value}`)
        break
      case 'mtu':
        if (!value || !/^\d+$/.test(value) || Number(value) < 68 || Number(value) > 65521) throw new InvalidArgumentError(`slirp4netns option mtu=${value ?? ''}: expected a number from 68 to 65521`)
        mtu = value
        break
      case 'outbound_addr':
      case 'outbound_addr6':
        if (!value) throw new InvalidArgumentError(`slirp4netns option ${key}: expected an address or an interface name`)
        args.push(`--${key.replace('_', '-')}=${value}`)
        break
      case 'port_handler':
        if (value === 'slirp4netns') break
        if (value === 'rootlesskit') {
          throw new InvalidArgumentError('slirp4netns option port_handler=rootlesskit: not available: tspod publishes ports through slirp4netns itself, which keeps the client\'s address', {hint: 'Leave port_handler out (or set port_handler=slirp4netns)'})
        }
        throw new InvalidArgumentError(`slirp4netns option port_handler=${value ?? ''}: expected slirp4netns or rootlesskit`)
      default:
        throw new InvalidArgumentError(`unknown slirp4netns option "${option}"`, {hint: 'Options: allow_host_loopback, cidr, enable_ipv6, mtu, outbound_addr, outbound_addr6, port_handler'})
    }
  }
  return [`--mtu=${mtu}`, ...(hostLoopback ? [] : ['--disable-host-loopback']), ...args]
}

/** The first, second and third address of an IPv4 network: the gateway is .2 and the DNS .3 in slirp's plan, the guest .100. */
function slirpAddresses(args: string[]): {gateway: string; dns: string; guest: string} {
  const cidr = args.find(a => a.startsWith('--cidr='))?.slice('--cidr='.length) ?? SLIRP_DEFAULT_CIDR
  const [base] = cidr.split('/')
  const octets = base.split('.').map(Number)
  const at = (n: number) => [...octets.slice(0, 3), n].join('.')
  return {gateway: at(2), dns: at(3), guest: at(100)}
}

/** pasta:OPTIONS are pasta's own arguments, comma-separated as in Podman; the ones tspod manages are refused. */
export function pastaArgs(options: string[]): string[] {
  for (const option of options) {
    if (/^(--netns|--pid|-P|--config-net|-f|--foreground|--userns)(=|$)/.test(option)) {
      throw new InvalidArgumentError(`pasta option ${option}: set by tspod itself`, {hint: 'Publish ports with -p; other pasta options are passed on'})
    }
  }
  return options
}

/** The address of the interface with the default route: what the host answers on for its neighbours. */
function hostPrimaryIpv4(): string | undefined {
  try {
    const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map(l => l.trim().split(/\s+/))
    const dflt = route.find(f => f[1] === '00000000')
    const iface = dflt?.[0]
    if (!iface) return undefined
    return interfaceIpv4(iface)
  } catch {
    return undefined
  }
}

function interfaceIpv4(iface: string): string | undefined {
  const list = networkInterfaces()[iface] ?? []
  return list.find(a => a.family === 'IPv4' && !a.internal)?.address
}

function hostDefaultGateway(): string | undefined {
  try {
    const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map(l => l.trim().split(/\s+/))
    const hex = route.find(f => f[1] === '00000000')?.[2]
    if (!hex || !/^[0-9A-F]{8}$/i.test(hex)) return undefined
    // Little-endian hex, as the kernel prints it.
    return [6, 4, 2, 0].map(i => parseInt(hex.slice(i, i + 2), 16)).join('.')
  } catch {
    return undefined
  }
}

export interface NetworkDecision {
  request: NetworkFlag
  /** The published ports (already checked) decide, for IPv6 addresses, the backend. */
  ports: PortMapping[]
  configured?: string
  cmdPath?: string
  /** container:NAME → that container's id and its pid, when running. */
  lookupContainer?: (name: string) => {id: string; pid?: number}
}

/** What the container's network will be; throws for combinations that cannot work. */
export function decideNetwork(input: NetworkDecision): NetworkSettings {
  const {request, ports} = input
  if (ports.length > 0 && (request.kind === 'none' || request.kind === 'host' || request.kind === 'container' || request.kind === 'ns')) {
    const what = request.kind === 'container' || request.kind === 'ns' ? `${request.kind}:` : request.kind
    throw new InvalidArgumentError(`cannot publish ports with --network ${what}: the container has no network of its own to forward to`, {
      hint: request.kind === 'host' ? 'With --network host the container\'s ports are the host\'s already; drop -p' : 'Drop -p, or use the default network',
    })
  }
  switch (request.kind) {
    case 'none':
      return {mode: 'none'}
    case 'host':
      return {mode: 'host', hostGateway: '127.0.0.1'}
    case 'ns':
      return {mode: 'joined', nsPath: request.path}
    case 'container': {
      const found = input.lookupContainer?.(request.container)
      if (!found) throw new InvalidArgumentError(`--network container:${request.container}: no such container`)
      if (!found.pid) throw new TspodError(`--network container:${request.container}: the container is not running`, {hint: `Start it first: tspod start ${request.container}`})
      return {mode: 'joined', container: found.id, nsPath: `/proc/${found.pid}/ns/net`}
    }
    case 'named':
      return resolveNamedNetwork(request.name)
    default:
      break
  }
  const needsIpv6Publish = ports.some(p => ipFamily(p.hostIp) === 6)
  const choice: BackendChoice =
    request.kind === 'backend'
      ? (() => {
          const path = findBackend(request.backend, input.cmdPath)
          if (!path) throw new TspodError(`--network ${request.backend}: ${request.backend} is not installed`, {hint: `As root: apt-get install ${request.backend === 'pasta' ? 'passt' : 'slirp4netns'}`})
          return {name: request.backend, path, reason: 'asked for with --network'}
        })()
      : chooseBackend({configured: input.configured, cmdPath: input.cmdPath, needsIpv6Publish})
  const options = request.kind === 'backend' ? request.options : []
  if (choice.name === 'slirp4netns') {
    if (needsIpv6Publish) {
      throw new InvalidArgumentError('slirp4netns cannot publish ports on an IPv6 address', {hint: 'Use --network pasta for -p [::1]:HOSTPORT:PORT'})
    }
    const backendArgs = slirpArgs(options)
    const addresses = slirpAddresses(backendArgs)
    const loopback = !backendArgs.includes('--disable-host-loopback')
    return {
      mode: 'private',
      backend: 'slirp4netns',
      backendReason: choice.reason,
      backendArgs,
      // slirp's gateway is the host's loopback when allowed; otherwise the host's own address reaches its services.
      hostGateway: loopback ? addresses.gateway : hostPrimaryIpv4() ?? addresses.gateway,
      containerIp: addresses.guest,
      dnsForwarder: addresses.dns,
    }
  }
  const backendArgs = pastaArgs(options)
  return {
    mode: 'private',
    backend: 'pasta',
    backendReason: choice.reason,
    backendArgs,
    // pasta maps the gateway's address to the host (unless --no-map-gw).
    hostGateway: backendArgs.includes('--no-map-gw') ? undefined : hostDefaultGateway(),
    containerIp: hostPrimaryIpv4(),
  }
}

/** The settings of a record made before networking was configurable: its own namespace behind slirp4netns. */
export function legacySettings(mode: 'none' | 'host' | 'private'): NetworkSettings {
  if (mode !== 'private') return {mode}
  return {mode: 'private', backend: 'slirp4netns', backendArgs: slirpArgs([])}
}

/** The monitor's network options (docs/monitor-protocol.md): the backend, its arguments and the ports. */
export function monitorNetworkArgs({settings, ports}: NetworkPlan, cmdPath?: string): string[] {
  if (settings.mode !== 'private' || !settings.backend) return []
  const path = findBackend(settings.backend, cmdPath)
  if (!path) throw new TspodError(`${settings.backend} is not installed: the container's network cannot be set up`, {hint: `As root: apt-get install ${settings.backend === 'pasta' ? 'passt' : 'slirp4netns'}, or recreate the container with --network none`})
  const args = [`--${settings.backend}`, path]
  for (const arg of settings.backendArgs ?? []) args.push('--network-arg', arg)
  return [...args, ...monitorPublishArgs(ports)]
}

/**
 * The monitor's network arguments for a container on user-defined networks:
 * netavark has made its network, so only its published ports need serving,
 * by tspod-portfwd on every address asked for.
 */
export function monitorForwardArgs(ports: PortMapping[]): string[] {
  return ports.length === 0 ? [] : ['--forward-ports', ...monitorPublishArgs(ports)]
}

/** Whether a published port shows the container the client's own address, and why (for `tspod info`). */
export function sourceAddressNote(backend: NetworkBackendName): string {
  return backend === 'slirp4netns'
    ? 'kept: slirp4netns forwards published ports for other machines and the host\'s other addresses; clients on the host\'s loopback go through tspod-portfwd and appear as 127.0.0.1, their own address'
    : 'kept: pasta forwards published ports itself (loopback tcp is spliced and appears as 127.0.0.1; the host\'s own address appears as the gateway); loopback udp goes through tspod-portfwd and appears as 127.0.0.1'
}

/** A container's network settings and published ports as its record keeps them (records from before: legacy settings, no ports). */
export function recordNetwork(record: {network: 'none' | 'host' | 'private'; options: Record<string, unknown>}): {settings: NetworkSettings; ports: PortMapping[]} {
  const kept = record.options.networkSettings as NetworkSettings | undefined
  const settings = kept && typeof kept === 'object' && typeof kept.mode === 'string' ? kept : legacySettings(record.network)
  return {settings, ports: recordedMappings(record.options.publish)}
}

export interface NetworkPlanInput {
  flag?: NetworkFlag
  /** -p, parsed. */
  publish: PortMapping[]
  /** -P: the image's EXPOSE'd ports and --expose, each to a free host port. */
  publishAll: boolean
  expose: string[]
  imageExposed?: Record<string, unknown>
  rootless: boolean
  /** containers.conf default_rootless_network_cmd and network_cmd_path. */
  configured?: string
  cmdPath?: string
  lookupContainer?: (name: string) => {id: string; pid?: number}
  /** The container joins user-defined networks, which bring their own namespace and egress. */
  userNetworks?: boolean
}

export interface NetworkPlan {
  settings: NetworkSettings
  ports: PortMapping[]
}

/** Everything `create` decides about the network: the settings, and the ports with their host ports picked. */
export async function planContainerNetwork(input: NetworkPlanInput): Promise<NetworkPlan> {
  const exposed = input.publishAll ? exposedPortMappings(input.imageExposed, input.expose) : []
  const wanted = mergeMappings(input.publish, exposed)
  checkMappings(wanted, {rootless: input.rootless})
  if (input.userNetworks) {
    const v6 = wanted.find(p => ipFamily(p.hostIp) === 6)
    if (v6) {
      throw new InvalidArgumentError(`cannot publish [${v6.hostIp}]:${v6.hostPort} for a container on a user-defined network: tspod-portfwd forwards IPv4 addresses only`, {hint: 'Publish on an IPv4 address (or every address: -p HOSTPORT:PORT)'})
    }
  }
  const settings: NetworkSettings = input.userNetworks
    ? {mode: 'private'}
    : decideNetwork({request: input.flag ?? {kind: 'default'}, ports: wanted, configured: input.configured, cmdPath: input.cmdPath, lookupContainer: input.lookupContainer})
  return {settings, ports: await assignHostPorts(wanted)}
}

/** HostConfig.NetworkMode as Podman shows it. */
export function networkModeName(settings: NetworkSettings): string {
  if (settings.mode === 'private') return settings.backend ?? 'bridge'
  if (settings.mode === 'joined') return settings.container ? `container:${settings.container}` : `ns:${settings.nsPath ?? ''}`
  return settings.mode
}

/** What inspect and ps show of a container's network, in Podman's shapes. */
export function describeNetwork(record: {network: 'none' | 'host' | 'private'; options: Record<string, unknown>}) {
  const {settings, ports} = recordNetwork(record)
  const expose = Array.isArray(record.options.expose) ? (record.options.expose as string[]) : []
  const bindings = inspectPorts(ports)
  return {
    networkMode: networkModeName(settings),
    /** NetworkSettings.Ports: published ports, and exposed ones (null) as Podman lists them. */
    ports: {...inspectPorts([], expose), ...bindings},
    /** HostConfig.PortBindings. */
    portBindings: bindings,
    /** `ps --format json`'s Ports. */
    psPorts: ports.length === 0 ? null : ports.map(p => ({host_ip: p.hostIp, container_port: p.containerPort, host_port: p.hostPort, range: 1, protocol: p.protocol})),
    /** `ps`'s PORTS column. */
    column: formatPortsColumn(ports),
    mappings: ports,
  }
}
