/** Turning `run`/`create` flags into the engine's CreateOptions. */
import {readFileSync} from 'node:fs'
import {InvalidArgumentError} from '../errors/index.js'
import type {CreateOptions} from '../container/create.js'
import type {ContainerOptions} from '../runtime/spec.js'
import {flagBool, flagList, flagString, type CommandContext} from './context.js'
import {isNetworkName, type NetworkRequest} from '../network/user-networks.js'
import {parseNetworkFlag} from '../network/backend.js'
import {parsePublish} from '../network/ports.js'

function keyValues(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list) {
    const i = item.indexOf('=')
    if (i === 0) throw new InvalidArgumentError(`invalid ${what} "${item}": expected KEY=VALUE`)
    if (i === -1) out[item] = ''
    else out[item.slice(0, i)] = item.slice(i + 1)
  }
  return out
}

function integer(ctx: CommandContext, name: string): number | undefined {
  const v = flagString(ctx, name)
  if (v === undefined) return undefined
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`invalid argument "${v}" for "--${name}" flag: strconv.ParseInt: parsing "${v}": invalid syntax`)
  return Number(v)
}

/** The namespace kind the spec needs; the rest of --network (backend, options, joined namespace) is decided at create. */
function networkMode(value: string | undefined): ContainerOptions['network'] {
  const flag = parseNetworkFlag(value)
  return flag.kind === 'none' || flag.kind === 'host' ? flag.kind : 'private'
}

/** `--network NAME` (repeatable) joins user-defined networks; anything else is a mode, given once. */
function userNetworkRequest(ctx: CommandContext): NetworkRequest | undefined {
  const values = flagList(ctx, 'network')
  const names = values.filter(isNetworkName)
  if (names.length === 0) return undefined
  if (names.length !== values.length) throw new InvalidArgumentError(`--network ${values.join(' --network ')}: a network mode cannot be combined with user-defined networks`, {hint: 'Give either one mode (none, host, private) or network names'})
  return {names, aliases: flagList(ctx, 'network-alias'), ips: flagList(ctx, 'ip'), mac: flagString(ctx, 'mac-address')}
}

/** --pod, or the ID in --pod-id-file. */
function podRef(ctx: CommandContext): string | undefined {
  const file = flagString(ctx, 'pod-id-file')
  if (file === undefined) return flagString(ctx, 'pod')
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new InvalidArgumentError(`reading the pod ID from ${file}: ${(err as Error).message}`)
  }
}

export function createOptionsFrom(ctx: CommandContext): CreateOptions {
  const [image, ...command] = ctx.args
  const publish = flagList(ctx, 'publish').flatMap(parsePublish)
  if (flagBool(ctx, 'no-hosts') && flagList(ctx, 'add-host').length > 0) {
    throw new InvalidArgumentError('--no-hosts and --add-host cannot be set together', {hint: 'Drop --no-hosts to add entries to the generated /etc/hosts'})
  }
  const cpuShares = integer(ctx, 'cpu-shares')
  const pidsLimit = integer(ctx, 'pids-limit')
  const stopTimeout = integer(ctx, 'stop-timeout')
  const spec: ContainerOptions = {
    command: command.length > 0 ? command : undefined,
    entrypoint: flagString(ctx, 'entrypoint'),
    env: flagList(ctx, 'env'),
    envFiles: flagList(ctx, 'env-file'),
    envHost: flagBool(ctx, 'env-host'),
    workdir: flagString(ctx, 'workdir'),
    user: flagString(ctx, 'user'),
    groupAdd: flagList(ctx, 'group-add'),
    hostname: flagString(ctx, 'hostname'),
    tty: flagBool(ctx, 'tty'),
    stdin: flagBool(ctx, 'interactive'),
    readOnly: flagBool(ctx, 'read-only'),
    readOnlyTmpfs: ctx.flags['read-only-tmpfs'] !== false,
    capAdd: flagList(ctx, 'cap-add'),
    capDrop: flagList(ctx, 'cap-drop'),
    privileged: flagBool(ctx, 'privileged'),
    securityOpt: flagList(ctx, 'security-opt'),
    userns: flagString(ctx, 'userns'),
    ulimits: flagList(ctx, 'ulimit'),
    pidsLimit,
    memory: flagString(ctx, 'memory'),
    cpus: flagString(ctx, 'cpus'),
    cpuShares,
    shmSize: flagString(ctx, 'shm-size'),
    tmpfs: flagList(ctx, 'tmpfs'),
    volumes: flagList(ctx, 'volume'),
    mounts: flagList(ctx, 'mount'),
    devices: flagList(ctx, 'device'),
    init: flagBool(ctx, 'init'),
    initPath: flagString(ctx, 'init-path'),
    network: userNetworkRequest(ctx) ? 'private' : networkMode(flagList(ctx, 'network').at(-1)),
    stopSignal: flagString(ctx, 'stop-signal'),
    annotations: keyValues(flagList(ctx, 'annotation'), 'annotation'),
    labels: keyValues(flagList(ctx, 'label'), 'label'),
  }
  return {
    image,
    name: flagString(ctx, 'name'),
    replace: flagBool(ctx, 'replace'),
    pull: (flagString(ctx, 'pull') ?? 'missing') as CreateOptions['pull'],
    platform: flagString(ctx, 'platform'),
    restart: flagString(ctx, 'restart'),
    rm: flagBool(ctx, 'rm'),
    stopSignal: flagString(ctx, 'stop-signal'),
    stopTimeout,
    logDriver: flagString(ctx, 'log-driver'),
    logOpts: flagList(ctx, 'log-opt'),
    cidFile: flagString(ctx, 'cidfile'),
    runtime: ctx.global.runtime,
    dns: flagList(ctx, 'dns'),
    addHosts: flagList(ctx, 'add-host'),
    dnsSearch: flagList(ctx, 'dns-search'),
    dnsOptions: flagList(ctx, 'dns-option'),
    noHosts: flagBool(ctx, 'no-hosts'),
    networkFlag: userNetworkRequest(ctx) ? undefined : parseNetworkFlag(flagList(ctx, 'network').at(-1)),
    publish,
    publishAll: flagBool(ctx, 'publish-all'),
    expose: flagList(ctx, 'expose'),
    networks: userNetworkRequest(ctx),
    secrets: flagList(ctx, 'secret'),
    sdnotify: flagString(ctx, 'sdnotify') as CreateOptions['sdnotify'],
    health: {
      cmd: flagString(ctx, 'health-cmd'),
      interval: flagString(ctx, 'health-interval'),
      retries: flagString(ctx, 'health-retries'),
      timeout: flagString(ctx, 'health-timeout'),
      startPeriod: flagString(ctx, 'health-start-period'),
      onFailure: flagString(ctx, 'health-on-failure'),
      none: flagBool(ctx, 'no-healthcheck'),
    },
    spec,
    createCommand: ['tspod', ...ctx.argv],
    podRef: podRef(ctx),
  }
}
