/**
 * `tspod create` (and the first half of `run`): resolve the image, reserve a
 * name, prepare the container's directory (overlay dirs, /etc files, the OCI
 * bundle) and commit it to the index. Nothing here needs the user namespace:
 * the rootfs is mounted later by the monitor, inside it.
 */
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {userInfo} from 'node:os'
import {dirname, join} from 'node:path'
import {helperPath, readSubIds} from '../rootless/ns-helper.js'
import {runInNamespace} from '../rootless/ns-exec.js'
import {InvalidArgumentError, NoSuchImageError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {detectCgroups} from '../engine/host.js'
import {readConfig} from '../image/images.js'
import {findImage} from '../image/lookup.js'
import type {ContainerConfig} from '../image/oci.js'
import {hostPlatform} from '../image/oci.js'
import {generateSpec, serializeSpec, type ContainerOptions} from '../runtime/spec.js'
import {selectRuntime} from '../runtime/select.js'
import {appendContainerEvent} from '../events/events.js'
import {debug} from '../util/log.js'
import {
  addContainer,
  containerPaths,
  currentState,
  findContainer,
  isActive,
  writeNewContainer,
  type ContainerRecord,
  type RestartPolicy,
} from './container-store.js'
import {writeEtcFiles} from './etc-files.js'
import {parseOnFailure, resolveHealthcheck, type HealthFlags} from './health.js'
import {planContainerNetwork, type NetworkFlag, type NetworkPlan} from '../network/backend.js'
import type {PortMapping} from '../network/ports.js'
import {joinNetworkNamespace, planContainerNetworks, writeContainerNetworks, type NetworkRequest} from '../network/user-networks.js'
import {readImageFile} from './image-files.js'
import {parseSignal} from './signals.js'
import {resolveVolumeMounts} from './volumes.js'

export interface CreateOptions {
  image: string
  name?: string
  replace: boolean
  pull: 'always' | 'missing' | 'never' | 'newer'
  platform?: string
  restart?: string
  rm: boolean
  stopSignal?: string
  stopTimeout?: number
  logDriver?: string
  logOpts: string[]
  cidFile?: string
  runtime?: string
  dns: string[]
  addHosts: string[]
  dnsSearch?: string[]
  dnsOptions?: string[]
  /** --no-hosts: keep the image's /etc/hosts. */
  noHosts?: boolean
  /** --network as a mode (user-defined networks are `networks`). */
  networkFlag?: NetworkFlag
  /** -p, parsed. */
  publish?: PortMapping[]
  /** -P */
  publishAll?: boolean
  /** --expose */
  expose?: string[]
  /** User-defined networks to join (--network NAME, repeatable), with --network-alias, --ip, --mac-address. */
  networks?: NetworkRequest
  /** `--secret` values, given to the container as files or environment variables. */
  secrets?: string[]
  /** How a systemd NOTIFY_SOCKET is used when the container starts (podman-run(1) --sdnotify); default container. */
  sdnotify?: 'container' | 'conmon' | 'ignore'
  /** --health-* flags; they override the image's HEALTHCHECK. */
  health?: HealthFlags
  spec: ContainerOptions
  createCommand: string[]
  /** Removes an existing container of the same name, for --replace. */
  removeExisting?: (id: string) => Promise<void>
  /** --pod NAME|ID or new:NAME, resolved into `pod` by the pod module. */
  podRef?: string
  /** The pod the container joins; a pod sharing its network gives the container the infra's (see src/pod/pod-join.ts). */
  pod?: {id: string; infra?: boolean; network?: NetworkPlan}
  /**
   * For `run`: starts the container's monitor (launchContainer) as soon as its
   * OCI bundle is written, so that the monitor sets the container up while
   * the record and the index are written and synced. Not for containers in a
   * pod or on user-defined networks, whose start takes the store's lock.
   * Should the commit fail, the launch is aborted.
   */
  launch?: (record: ContainerRecord) => Promise<{abort(): Promise<void>}>
}

export interface CreateReport {
  record: ContainerRecord
  warnings: string[]
}

export function parseRestartPolicy(value: string | undefined): RestartPolicy {
  if (!value || value === 'no') return {name: 'no', maxRetries: 0}
  const [name, retries] = value.split(':')
  if (name === 'on-failure') {
    const n = retries === undefined ? 0 : Number(retries)
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`invalid restart policy "${value}": the retry count must be a whole number`)
    return {name, maxRetries: n}
  }
  if ((name === 'always' || name === 'unless-stopped') && retries === undefined) return {name, maxRetries: 0}
  throw new InvalidArgumentError(`invalid restart policy "${value}": use no, on-failure[:N], always or unless-stopped`)
}

export function parseSize(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(value.trim())
  if (!m) throw new InvalidArgumentError(`invalid ${what} "${value}": expected a size such as 512k, 10m or 1g`)
  const mult: Record<string, number> = {'': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4}
  return Math.floor(Number(m[1]) * mult[m[2].toLowerCase()])
}

/**
 * Pull an image for run/create. Layers must be extracted inside tspod's user
 * namespace, where this process (kept outside, for speed) is not: the pull
 * runs as `tspod pull` in a child, which enters it. Its progress goes to
 * stderr, as Podman's does during run.
 */
async function pullForCreate(engine: Engine, image: string, platform?: string): Promise<void> {
  const {spawn} = await import('node:child_process')
  const args = [
    process.argv[1]!, '--root', engine.store.graphRoot, '--runroot', engine.store.runRoot, '--storage-driver', engine.store.driver,
    'pull', ...(platform ? ['--platform', platform] : []), image,
  ]
  debug(`pulling ${image}`)
  const code = await new Promise<number>((resolve, reject) => {
    // A terminal on stdin lets the pull ask which registry a short name means (short-name-mode).
    const child = spawn(process.execPath, args, {stdio: [process.stdin.isTTY ? 'inherit' : 'ignore', 2, 2]})
    child.once('error', reject)
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 125)))
  })
  if (code !== 0) throw new TspodError(`${image}: pulling the image failed (see the error above)`)
}

/** The user's own ids and the size of the subordinate ranges tspod maps (for --userns=keep-id, nomap). */
function rootlessIds() {
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  const name = userInfo().username
  const count = (file: string) => readSubIds(file, {name, uid}).reduce((n, r) => n + r.count, 0)
  return {uid, gid, subUidCount: count('/etc/subuid'), subGidCount: count('/etc/subgid')}
}

/** `--entrypoint ''` clears it; a JSON array is taken as is; anything else is one word. */
function parseEntrypoint(value: string | string[]): string[] {
  if (Array.isArray(value)) return value
  if (value === '') return []
  if (value.trim().startsWith('[')) {
    try {
      const parsed = JSON.parse(value) as unknown
      if (Array.isArray(parsed)) return parsed.map(String)
    } catch {
      // not JSON: one word
    }
  }
  return [value]
}

function checkPlatform(platform: string | undefined, config: {os: string; architecture: string; variant?: string}): void {
  if (!platform) return
  const [os, arch, variant] = platform.split('/')
  const want = `${os}/${arch ?? config.architecture}${variant ? `/${variant}` : ''}`
  const have = `${config.os}/${config.architecture}${variant && config.variant ? `/${config.variant}` : ''}`
  if (os !== config.os || (arch && arch !== config.architecture) || (variant && config.variant && variant !== config.variant)) {
    throw new InvalidArgumentError(`image platform (${have}) does not match the expected platform (${want})`, {hint: 'Pull or build an image for that platform, or drop --platform'})
  }
  const host = hostPlatform()
  if (config.architecture !== host.architecture) {
    throw new InvalidArgumentError(`image platform ${have} cannot run on this ${host.os}/${host.architecture} host: no emulator is registered`)
  }
}

export async function createContainer(engine: Engine, given: CreateOptions): Promise<CreateReport> {
  const {store} = engine
  const options = given.podRef ? await (await import('../pod/pod-join.js')).joinPodOptions(engine, given) : given
  if (options.cidFile && existsSync(options.cidFile)) {
    // Checked before anything is created, so a refused run leaves no container behind.
    throw new InvalidArgumentError(`writing the container ID to ${options.cidFile}: file exists`, {hint: 'The --cidfile must not exist yet'})
  }
  const lookup = {searchRegistries: () => engine.config.registries.unqualifiedSearchRegistries}
  let image = findImage(store.readImages(), options.image, lookup)
  if (options.pull === 'always' || options.pull === 'newer' || (!image && options.pull === 'missing')) {
    await pullForCreate(engine, options.image, options.platform)
    image = findImage(store.readImages(), options.image, lookup)
  }
  if (!image) {
    throw new NoSuchImageError(options.image, options.pull === 'never' ? 'The image is not in local storage and --pull=never forbids pulling it' : undefined)
  }
  debug(`image ${options.image} is ${image.id.slice(0, 12)} (${image.layers.length} layer${image.layers.length === 1 ? '' : 's'})`)
  const imageConfig = readConfig(store, image)
  checkPlatform(options.platform, imageConfig)
  const containerConfig: ContainerConfig = imageConfig.config ?? {}
  const restartPolicy = parseRestartPolicy(options.restart)
  if (options.rm && restartPolicy.name !== 'no') {
    throw new InvalidArgumentError('the --rm option conflicts with --restart, when the restartPolicy is not "" and "no"')
  }
  const healthcheck = resolveHealthcheck(containerConfig.Healthcheck, options.health ?? {none: false})
  const healthOnFailure = parseOnFailure(options.health?.onFailure)
  const stopSignal = parseSignal(options.stopSignal ?? containerConfig.StopSignal ?? 'SIGTERM')
  const logDriver = (options.logDriver ?? engine.config.containers.logDriver) as ContainerRecord['logDriver']
  if (!['k8s-file', 'none', 'passthrough'].includes(logDriver)) {
    throw new InvalidArgumentError(`invalid log driver "${logDriver}": tspod supports k8s-file, none and passthrough`)
  }
  let logMaxSize = engine.config.containers.logSizeMax
  for (const opt of options.logOpts) {
    const [k, v] = opt.split(/=(.*)/s)
    if (k === 'max-size') logMaxSize = parseSize(v ?? '', 'log max-size')
    else if (k !== 'path' && k !== 'tag') throw new InvalidArgumentError(`invalid log option "${opt}": tspod supports max-size=`)
  }
  const cgroups = detectCgroups()
  const runtime = selectRuntime({explicit: options.runtime, configured: engine.config.containers.runtime, runtimes: engine.config.containers.runtimes, cgroups})
  const warnings: string[] = []
  const layers = image.layers
  const entrypoint = options.spec.entrypoint !== undefined ? parseEntrypoint(options.spec.entrypoint) : containerConfig.Entrypoint ?? []
  const cmd = options.spec.command ?? (options.spec.entrypoint !== undefined ? [] : containerConfig.Cmd ?? [])
  const imageName = image.names.find(n => n.endsWith(options.image) || n.includes(`/${options.image}`)) ?? image.names[0] ?? image.id

  if (options.replace && options.name && options.removeExisting) {
    // Before taking the store lock: removal takes it itself.
    const existing = findContainer(store, options.name)
    if (existing && existing.names.includes(options.name)) await options.removeExisting(existing.id)
  }
  const userNetworks = options.networks && options.networks.names.length > 0 ? planContainerNetworks(store, options.networks, options.dns) : undefined
  const network = options.pod?.network ?? await planContainerNetwork({
    flag: options.networkFlag,
    publish: options.publish ?? [],
    publishAll: options.publishAll ?? false,
    expose: options.expose ?? [],
    imageExposed: containerConfig.ExposedPorts,
    rootless: engine.rootless,
    configured: engine.config.containers.defaultRootlessNetworkCmd,
    cmdPath: engine.config.containers.networkCmdPath,
    lookupContainer: ref => {
      const entry = findContainer(store, ref)
      if (!entry) throw new InvalidArgumentError(`--network container:${ref}: no such container`)
      const state = currentState(store, entry.id)
      return {id: entry.id, pid: isActive(state) ? state.pid : undefined}
    },
    userNetworks: userNetworks !== undefined,
  })
  let launched: {abort(): Promise<void>} | undefined
  const abortLaunch = async () => {
    const pending = launched
    launched = undefined
    await pending?.abort()
  }
  const record = await addContainer(
    store,
    {name: options.name},
    async (id, name) => {
      const paths = containerPaths(store, id)
      const rootfsKind = store.driver === 'vfs' ? 'copy' : 'overlay'
      // Plain syscalls: a handful of small directories cost less than the thread pool's round trips.
      mkdirSync(paths.userdata, {recursive: true, mode: 0o700})
      if (rootfsKind === 'overlay') {
        for (const d of [paths.diff, paths.work, paths.merged]) mkdirSync(d, {mode: 0o755})
      } else {
        mkdirSync(paths.rootfs, {mode: 0o755})
      }
      const hostname = options.spec.hostname ?? id.slice(0, 12)
      const etc = await writeEtcFiles(paths.userdata, {
        hostname,
        name,
        network: network.settings,
        dns: options.dns.length > 0 ? options.dns : engine.config.containers.dnsServers,
        dnsSearch: options.dnsSearch,
        dnsOptions: options.dnsOptions,
        addHosts: options.addHosts,
        noHosts: options.noHosts,
      })
      if (userNetworks) await writeContainerNetworks(store, id, userNetworks)
      const volumeMounts = await resolveVolumeMounts(engine, options.spec, Object.keys(containerConfig.Volumes ?? {}))
      const secrets = options.secrets?.length ? await (await import('../secrets/secrets.js')).prepareSecrets(store, options.secrets, paths.userdata) : undefined
      const report = generateSpec({
        id,
        rootfs: rootfsKind === 'overlay' ? paths.merged : paths.rootfs,
        imageConfig: containerConfig,
        lookupUser: path => readImageFile(store, layers, path),
        conf: engine.config.containers,
        cgroups,
        rootless: engine.rootless,
        options: {...options.spec, hostname, networkNsPath: network.settings.nsPath},
        etcFiles: {hosts: etc.hosts, resolvConf: etc.resolvConf, hostname: etc.hostname, containerEnv: etc.containerEnv},
        volumeMounts: [...volumeMounts.map(v => ({source: v.source, destination: v.destination, options: v.options})), ...(secrets?.mounts ?? [])],
        host: engine.rootless && options.spec.userns && options.spec.userns !== 'host' ? {user: rootlessIds()} : undefined,
      })
      debug(`OCI spec generated: ${report.spec.mounts?.length ?? 0} mounts, ${report.spec.process?.capabilities?.bounding?.length ?? 0} capabilities, seccomp ${report.spec.linux?.seccomp ? 'on' : 'off'}`)
      if (userNetworks) joinNetworkNamespace(report.spec, store.runRoot, id)
      if (report.unenforced.length > 0) {
        const what = `${report.unenforced.map(f => `--${f}`).join(', ')} cannot be enforced: ${cgroups.reason}`
        if (engine.config.containers.unenforcedLimits === 'error') {
          throw new InvalidArgumentError(`resource limits ${what}`, {hint: 'Drop the limit, or set [tspod] unenforced_limits = "warn" in containers.conf to run without it'})
        }
        warnings.push(`resource limits ${what}; the container runs without them (inspect shows them as not enforced)`)
      }
      warnings.push(...report.warnings)
      if (report.overlayVolumes.length > 0) {
        throw new InvalidArgumentError(`-v ${report.overlayVolumes[0].source}:${report.overlayVolumes[0].destination}:O: overlay volumes are not available yet`, {hint: 'Mount it without O (read-only with :ro)'})
      }
      for (const v of report.chownVolumes) {
        // `U`: give the source to the container's user, inside the namespace where its ids exist.
        const chown = await runInNamespace(store.runRoot, ['chown', '-R', `${report.user.uid}:${report.user.gid}`, v.source])
        if (chown.code !== 0) throw new TspodError(`-v ${v.source}:${v.destination}:U: chown: ${chown.stderr.trim()}`)
      }
      for (const file of secrets?.chown ?? []) {
        const chown = await runInNamespace(store.runRoot, ['chown', `${file.uid}:${file.gid}`, file.path])
        if (chown.code !== 0) throw new TspodError(`--secret: chown: ${chown.stderr.trim()}`)
      }
      const process = report.spec.process!
      // The record keeps the environment without secret values: inspect must never show them.
      const recordEnv = [...(process.env ?? [])]
      if (secrets?.env.length) process.env = [...recordEnv, ...secrets.env]
      if (runtime.name === 'crun' && report.spec.linux?.seccomp) {
        const {BPF_ANNOTATION, compiledSeccomp} = await import('../runtime/seccomp-bpf.js')
        const program = compiledSeccomp(report.spec.linux.seccomp, store.runRoot, join(dirname(helperPath()), 'tspod-seccomp'))
        if (program !== undefined) report.spec.annotations = {...report.spec.annotations, [BPF_ANNOTATION]: program}
      }
      const spec = {path: join(paths.bundle, 'config.json'), data: serializeSpec(report.spec), mode: 0o600}
      const record: ContainerRecord = {
        id,
        name,
        image: image.id,
        imageName,
        layers,
        created: new Date().toISOString(),
        args: process.args ?? [],
        entrypoint,
        cmd,
        createCommand: options.createCommand,
        env: recordEnv,
        workdir: process.cwd,
        user: options.spec.user ?? containerConfig.User ?? '',
        hostname,
        tty: options.spec.tty,
        stdin: options.spec.stdin,
        // A container started by a systemd unit records it, as Podman does: auto-update restarts the unit.
        labels: {...(containerConfig.Labels ?? {}), ...(globalThis.process.env.PODMAN_SYSTEMD_UNIT ? {PODMAN_SYSTEMD_UNIT: globalThis.process.env.PODMAN_SYSTEMD_UNIT} : {}), ...options.spec.labels},
        annotations: options.spec.annotations,
        restartPolicy,
        autoRemove: options.rm,
        stopSignal,
        stopTimeout: options.stopTimeout ?? 10,
        logDriver,
        logMaxSize,
        network: options.spec.network,
        runtime: {name: runtime.name, path: runtime.path},
        mounts: volumeMounts,
        unenforced: report.unenforced,
        options: {...options.spec, networkSettings: network.settings, publish: network.ports, expose: options.expose ?? []},
        rootfsKind,
        cidFile: options.cidFile,
        secrets: secrets?.refs,
        sdnotify: options.sdnotify,
        healthcheck,
        healthOnFailure,
        pod: options.pod?.id,
        infra: options.pod?.infra,
      }
      if (options.launch && !options.pod && !userNetworks) {
        // The directory is new and in no index yet: a plain write cannot
        // leave a torn file anyone reads; it is synced with the rest below.
        writeFileSync(spec.path, spec.data, {mode: spec.mode})
        launched = await options.launch(record)
        try {
          await writeNewContainer(store, record, [], [spec.path])
        } catch (err) {
          // Before addContainer removes the directory the monitor works in.
          await abortLaunch()
          throw err
        }
      } else {
        await writeNewContainer(store, record, [spec])
      }
      return record
    },
  ).catch(async err => {
    await abortLaunch()
    throw err
  })
  if (options.cidFile) await writeFile(options.cidFile, record.id, {flag: 'wx'}).catch(err => {
    throw new InvalidArgumentError(`writing the container ID to ${options.cidFile}: ${(err as Error).message}`, {hint: 'The --cidfile must not exist yet'})
  })
  appendContainerEvent(store.runRoot, record, 'create')
  return {record, warnings}
}
