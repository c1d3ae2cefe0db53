/** Turning `run`/`create` flags into the engine's CreateOptions. */
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {CreateOptions} from '../container/create.js'
import type {ContainerOptions} from '../runtime/spec.js'
import {flagBool, flagList, flagString, type CommandContext} from './context.js'

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

function networkMode(value: string | undefined): ContainerOptions['network'] {
  if (value === undefined || value === '' || value === 'private' || value === 'slirp4netns' || value === 'default' || value === 'bridge') return 'private'
  if (value === 'none' || value === 'host') return value
  throw new TspodError(`network mode "${value}" is not available yet: tspod supports none, host and private (slirp4netns) now`, {hint: 'User-defined networks, pasta and container:/ns: modes come with the networking work'})
}

export function createOptionsFrom(ctx: CommandContext): CreateOptions {
  const [image, ...command] = ctx.args
  if (flagList(ctx, 'publish').length > 0) {
    throw new TspodError('publishing ports (-p) is not available yet', {hint: 'Use --network host to reach the container\'s ports from the host for now'})
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
    network: networkMode(flagString(ctx, 'network')),
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
  }
}
