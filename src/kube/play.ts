/**
 * `tspod kube play` and `kube down`: carrying out a plan (plan.ts) with the
 * pod, container, volume and secret use cases, and taking it back.
 * What play creates besides pods (volumes, secrets) carries the label
 * io.tspod.kube.play, so `kube down` removes exactly that and never a
 * volume or secret the user made.
 */
import {createHash} from 'node:crypto'
import {existsSync, statSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {InvalidArgumentError, TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {createContainer} from '../container/create.js'
import {removeContainer, startContainer, waitForExit} from '../container/lifecycle.js'
import {findContainer, readRecord} from '../container/container-store.js'
import {createVolume, readVolume} from '../container/volumes.js'
import {containersUsing, removeVolume} from '../container/volume-ops.js'
import {findImage} from '../image/lookup.js'
import type {NetworkFlag} from '../network/backend.js'
import type {PortMapping} from '../network/ports.js'
import {ensureInfraImage} from '../pod/infra-image.js'
import {createPod, podErrorsToError, removePod, startPod, stopPod} from '../pod/pods.js'
import {readPod, readPodIndex, type PodIndexEntry} from '../pod/pod-store.js'
import {createSecret, listSecrets, removeSecret, type SecretRecord} from '../secrets/secrets.js'
import type {KubePlan, PlannedContainer, PlannedPod, SecretEnv} from './plan.js'

/** On volumes and secrets that play created. */
export const PLAY_LABEL = 'io.tspod.kube.play'
/** On a secret made from one key of a Secret document: the document's name (the key is in KEY_LABEL). */
const SECRET_LABEL = 'io.tspod.kube.secret'
const KEY_LABEL = 'io.tspod.kube.key'

export interface KubePlayOptions {
  replace: boolean
  start: boolean
  /** --network, for every pod. */
  networkFlag?: NetworkFlag
  /** --annotation, added to every container's (over the YAML's). */
  annotations?: Record<string, string>
  /** --log-driver for every container. */
  logDriver?: string
  /** --userns for every pod. */
  userns?: string
  /** --publish: replaces the YAML's hostPort for the same container port, or adds one. */
  publish: PortMapping[]
  /** true: build every image that has a context directory; false: never; undefined: build missing images only. */
  build?: boolean
  /** Where image context directories are looked for (a directory named after the image). */
  contextDir: string
  createCommand: string[]
  /**
   * --service-container: one more container, started after every pod, whose
   * monitor tells a Type=notify unit MAINPID and READY=1, and which lives as
   * long as what the file made (podman-kube-play(1)).
   */
  serviceContainer?: boolean
  /** Runs `tspod <args>` as a child (for build), resolving to its exit code. */
  runTspod: (args: string[]) => Promise<number>
  warn: (message: string) => void
}

export interface KubePlayReport {
  pods: Array<{id: string; name: string; containers: string[]}>
  /** The service container's ID, with --service-container. */
  serviceContainer?: string
  volumes: string[]
  secrets: string[]
}

export interface KubeDownReport {
  stopped: string[]
  /** The service container, when play made one. */
  service?: string
  removed: string[]
  volumes: string[]
  secrets: string[]
}

/** Podman's per-container annotations: KEY/CONTAINER for one container, over KEY for all of the pod's. */
function containerAnnotation(annotations: Record<string, string> | undefined, key: string, container: string): string | undefined {
  return annotations?.[`${key}/${container}`] ?? annotations?.[key]
}

/**
 * A container of a played pod never gets systemd's NOTIFY_SOCKET unless the
 * YAML asks for it (annotation io.containers.sdnotify, or
 * io.containers.sdnotify/NAME for one container, as Podman reads them): the
 * unit's readiness is the service container's to report, and a container
 * that would be expected to send READY=1 itself and never does would hang
 * the play.
 */
export function sdnotifyOf(c: PlannedContainer, podName: string): 'container' | 'conmon' | 'ignore' {
  const value = containerAnnotation(c.spec.annotations, 'io.containers.sdnotify', c.name.slice(podName.length + 1)) ?? 'ignore'
  if (value !== 'container' && value !== 'conmon' && value !== 'ignore') {
    throw new InvalidArgumentError(`pod ${podName}: annotation io.containers.sdnotify: ${value} is not container, conmon or ignore`)
  }
  return value
}

/**
 * auto-update reads a container's io.containers.autoupdate label; YAML (and
 * Quadlet's AutoUpdate=, which becomes --annotation) says it with the
 * annotation io.containers.autoupdate, or io.containers.autoupdate/NAME for
 * one container, which Podman's kube play turns into that label too.
 */
export function withAutoUpdateLabel<S extends {annotations?: Record<string, string>; labels?: Record<string, string>}>(spec: S, container: string): S {
  const policy = containerAnnotation(spec.annotations, 'io.containers.autoupdate', container)
  return policy === undefined ? spec : {...spec, labels: {...spec.labels, 'io.containers.autoupdate': policy}}
}

/** Named after the pods the file makes, so `kube down` and `--replace` find it from the same file. */
export function serviceContainerName(podNames: string[]): string {
  return `${createHash('sha256').update([...podNames].sort().join('\n')).digest('hex').slice(0, 12)}-service`
}

async function removeServiceContainer(engine: Engine, podNames: string[]): Promise<string | undefined> {
  const entry = findContainer(engine.store, serviceContainerName(podNames))
  if (!entry || !entry.names.includes(serviceContainerName(podNames))) return undefined
  if (!isOurs(readRecord(engine.store, entry.id).labels)) return undefined
  await removeContainer(engine, entry.id, {force: true, timeoutSeconds: 0})
  return entry.id
}

/** The service container: the infra image's idle process, no network, its monitor the unit's main process. */
async function startServiceContainer(engine: Engine, podNames: string[], options: KubePlayOptions): Promise<string> {
  await removeServiceContainer(engine, podNames)
  const report = await createContainer(engine, {
    image: await ensureInfraImage(engine),
    name: serviceContainerName(podNames),
    replace: false,
    pull: 'never',
    rm: false,
    logDriver: 'k8s-file',
    logOpts: [],
    dns: [],
    addHosts: [],
    networkFlag: {kind: 'none'},
    sdnotify: 'conmon',
    createCommand: options.createCommand,
    spec: {
      env: [], envFiles: [], envHost: false, groupAdd: [], tty: false, stdin: false, readOnly: false,
      capAdd: [], capDrop: [], privileged: false, securityOpt: [], ulimits: [], tmpfs: [], volumes: [],
      mounts: [], devices: [], init: false, network: 'none', annotations: {}, labels: {[PLAY_LABEL]: 'true'},
    },
  })
  report.warnings.forEach(options.warn)
  await startContainer(engine, report.record)
  return report.record.id
}

function mergePublish(yaml: PortMapping[], given: PortMapping[]): PortMapping[] {
  const out = yaml.filter(m => !given.some(g => g.containerPort === m.containerPort && g.protocol === m.protocol))
  return [...out, ...given]
}

async function checkHostPaths(pod: PlannedPod): Promise<void> {
  for (const {path, type, where} of pod.hostPaths) {
    let stat
    try {
      stat = statSync(path)
    } catch {
      stat = undefined
    }
    if (!stat) {
      if (type === 'DirectoryOrCreate') await mkdir(path, {recursive: true, mode: 0o755})
      else if (type === 'FileOrCreate') {
        await mkdir(dirname(path), {recursive: true, mode: 0o755})
        await writeFile(path, '', {flag: 'a', mode: 0o644})
      } else if (type !== '') throw new InvalidArgumentError(`${where}: hostPath ${path} does not exist`, {hint: 'Create it, or use type DirectoryOrCreate or FileOrCreate'})
      continue
    }
    const ok: Record<string, boolean> = {
      Directory: stat.isDirectory(), DirectoryOrCreate: stat.isDirectory(), File: stat.isFile(), FileOrCreate: stat.isFile(),
      Socket: stat.isSocket(), CharDevice: stat.isCharacterDevice(), BlockDevice: stat.isBlockDevice(),
    }
    if (type !== '' && !ok[type]) throw new InvalidArgumentError(`${where}: hostPath ${path} is not of type ${type}`)
  }
}

/** By name only: a YAML's pod names must never match another pod's ID prefix. */
function podNamed(engine: Engine, name: string): PodIndexEntry | undefined {
  return readPodIndex(engine.store).find(e => e.name === name)
}

function isOurs(labels: Record<string, string> | undefined): boolean {
  return labels?.[PLAY_LABEL] === 'true'
}

/** Each key of a Secret document becomes a tspod secret `<name>.<key>`, so a variable gets one value and inspect shows none. */
async function createSecrets(engine: Engine, plan: KubePlan): Promise<string[]> {
  const created: string[] = []
  const existing = listSecrets(engine.store)
  for (const secret of plan.secrets) {
    for (const [key, data] of Object.entries(secret.data)) {
      const name = `${secret.name}.${key}`
      const other = existing.find(s => s.Spec.Name === name)
      if (other && !isOurs(other.Spec.Labels)) throw new TspodError(`Secret ${secret.name}: a secret named ${name} exists and was not made by kube play`, {hint: `Remove it (tspod secret rm ${name}) or rename the Secret`})
      await createSecret(engine.store, name, data, {replace: true, labels: {...secret.labels, [PLAY_LABEL]: 'true', [SECRET_LABEL]: secret.name, [KEY_LABEL]: key}})
      created.push(name)
    }
  }
  return created
}

/** `--secret` uses for a container's secretKeyRef and envFrom secretRef. */
function secretUses(engine: Engine, refs: SecretEnv[]): string[] {
  const all = listSecrets(engine.store)
  const uses: string[] = []
  const byName = (name: string): SecretRecord | undefined => all.find(s => s.Spec.Name === name)
  for (const ref of refs) {
    if (ref.key !== undefined) {
      // A secret made from a Secret document, else a plain tspod secret whose whole data is the value.
      const found = byName(`${ref.secret}.${ref.key}`) ?? byName(ref.secret)
      if (found) uses.push(`${found.Spec.Name},type=env,target=${ref.target}`)
      else if (!ref.optional) throw new TspodError(`${ref.where}: Secret ${ref.secret} (key ${ref.key}) not found`, {hint: `Put the Secret in the same file, or create it: tspod secret create ${ref.secret}.${ref.key} FILE`})
      continue
    }
    const keys = all.filter(s => s.Spec.Labels[SECRET_LABEL] === ref.secret)
    if (keys.length === 0 && !ref.optional) throw new TspodError(`${ref.where}: Secret ${ref.secret} not found`, {hint: 'Put the Secret in the same file as the pod'})
    for (const s of keys) uses.push(`${s.Spec.Name},type=env,target=${ref.target}${s.Spec.Labels[KEY_LABEL]}`)
  }
  return uses
}

async function ensureClaim(engine: Engine, name: string, labels: Record<string, string>, created: string[]): Promise<void> {
  if (readVolume(engine.store, name)) return
  await createVolume(engine.store, name, {labels: {...labels, [PLAY_LABEL]: 'true'}})
  created.push(name)
}

/** `localhost/app:1` is built from `<context dir>/app` when that holds a Containerfile or Dockerfile. */
async function buildImage(engine: Engine, c: PlannedContainer, options: KubePlayOptions): Promise<void> {
  if (options.build === false) return
  const repo = c.image.replace(/[@:][^/]*$/, '')
  const dir = join(options.contextDir, basename(repo))
  if (!existsSync(join(dir, 'Containerfile')) && !existsSync(join(dir, 'Dockerfile'))) return
  const present = findImage(engine.store.readImages(), c.image, {searchRegistries: () => engine.config.registries.unqualifiedSearchRegistries})
  if (present && options.build !== true) return
  const code = await options.runTspod(['build', '-t', c.image, dir])
  if (code !== 0) throw new TspodError(`building ${c.image} from ${dir} failed (see the error above)`)
}

/**
 * Run an init container to its end and remove it. One that fails is kept,
 * with the pod, so its logs can be read.
 */
async function runInitContainer(engine: Engine, c: PlannedContainer, id: string): Promise<void> {
  await startContainer(engine, readRecord(engine.store, id))
  const state = await waitForExit(engine, id, {monitor: true})
  if (state.exitCode !== 0) {
    throw new TspodError(`init container ${c.name} exited with code ${state.exitCode ?? 'unknown'}: the pod's containers are not started`, {hint: `Read its output with tspod logs ${c.name}; remove everything with tspod kube down FILE`})
  }
  await removeContainer(engine, id, {force: true})
}

async function playPod(engine: Engine, planned: PlannedPod, options: KubePlayOptions): Promise<KubePlayReport['pods'][number]> {
  await checkHostPaths(planned)
  for (const c of [...planned.initContainers, ...planned.containers]) await buildImage(engine, c, options)
  const {pod, warnings} = await createPod(engine, {
    name: planned.name,
    hostname: planned.hostname,
    labels: planned.labels,
    infra: true,
    publish: mergePublish(planned.publish, options.publish),
    networkFlag: options.networkFlag ?? (planned.hostNetwork ? {kind: 'host'} : undefined),
    userns: options.userns,
    createCommand: options.createCommand,
  })
  warnings.forEach(options.warn)
  const ids: string[] = []
  const create = async (c: PlannedContainer): Promise<string> => {
    const report = await createContainer(engine, {
      image: c.image,
      name: c.name,
      replace: options.replace,
      removeExisting: id => removeContainer(engine, id, {force: true}),
      pull: c.pull,
      restart: c.restart,
      stopTimeout: c.stopTimeout,
      rm: false,
      logDriver: options.logDriver,
      logOpts: [],
      dns: [],
      addHosts: [],
      secrets: secretUses(engine, c.secretEnv),
      sdnotify: sdnotifyOf(c, planned.name),
      podRef: pod.id,
      spec: withAutoUpdateLabel(options.annotations ? {...c.spec, annotations: {...c.spec.annotations, ...options.annotations}} : c.spec, c.name.slice(planned.name.length + 1)),
      createCommand: options.createCommand,
    })
    report.warnings.forEach(options.warn)
    return report.record.id
  }
  try {
    for (const c of planned.containers) ids.push(await create(c))
  } catch (err) {
    await removePod(engine, readPod(engine.store, pod.id), {force: true}).catch(() => {})
    throw err
  }
  if (!options.start && planned.initContainers.length > 0) {
    options.warn(`pod ${planned.name}: its initContainers run only when kube play starts the pod, so they are not created with --start=false`)
  }
  if (options.start) {
    for (const c of planned.initContainers) await runInitContainer(engine, c, await create(c))
    const error = podErrorsToError('starting', pod, await startPod(engine, readPod(engine.store, pod.id)))
    // Kept as it is: what failed to start is worth a look before it goes.
    if (error) throw new TspodError(error.message, {hint: `Look with tspod pod inspect ${pod.name} and tspod logs; remove what the file made with tspod kube down FILE`})
  }
  return {id: pod.id, name: pod.name, containers: ids}
}

export async function playKube(engine: Engine, plan: KubePlan, options: KubePlayOptions): Promise<KubePlayReport> {
  const report: KubePlayReport = {pods: [], volumes: [], secrets: []}
  if (options.replace) {
    for (const name of plan.pods.map(p => p.name)) {
      const entry = podNamed(engine, name)
      if (entry) await removePod(engine, readPod(engine.store, entry.id), {force: true})
    }
  } else {
    for (const p of plan.pods) {
      const entry = podNamed(engine, p.name)
      if (entry) throw new TspodError(`pod ${p.name} (from ${p.origin}) already exists`, {hint: 'Add --replace to recreate it, or remove it with tspod kube down FILE'})
    }
  }
  for (const claim of plan.claims) await ensureClaim(engine, claim.name, claim.labels, report.volumes)
  for (const pod of plan.pods) for (const claim of pod.claims) await ensureClaim(engine, claim, {}, report.volumes)
  report.secrets = await createSecrets(engine, plan)
  for (const pod of plan.pods) report.pods.push(await playPod(engine, pod, options))
  if (options.serviceContainer && options.start) report.serviceContainer = await startServiceContainer(engine, plan.pods.map(p => p.name), options)
  return report
}

/** Remove the pods the documents make, with the volumes and secrets play created for them. */
export async function downKube(engine: Engine, what: {pods: string[]; claims: string[]; secrets: string[]}, warn: (message: string) => void): Promise<KubeDownReport> {
  const report: KubeDownReport = {stopped: [], removed: [], volumes: [], secrets: []}
  for (const name of what.pods) {
    const entry = podNamed(engine, name)
    if (!entry) {
      warn(`pod ${name} does not exist: nothing to remove`)
      continue
    }
    const pod = readPod(engine.store, entry.id)
    const error = podErrorsToError('stopping', pod, await stopPod(engine, pod))
    if (error) throw error
    report.stopped.push(pod.id)
    await removePod(engine, pod, {force: true})
    report.removed.push(pod.id)
  }
  report.service = await removeServiceContainer(engine, what.pods)
  for (const name of what.claims) {
    const volume = readVolume(engine.store, name)
    if (!volume || !isOurs(volume.Labels)) continue
    const users = containersUsing(engine, name)
    if (users.length > 0) {
      warn(`volume ${name} is kept: containers still use it (${users.map(id => id.slice(0, 12)).join(', ')})`)
      continue
    }
    await removeVolume(engine, name, {force: false})
    report.volumes.push(name)
  }
  for (const secret of listSecrets(engine.store)) {
    if (!isOurs(secret.Spec.Labels) || !what.secrets.includes(secret.Spec.Labels[SECRET_LABEL] ?? '')) continue
    await removeSecret(engine.store, secret.ID)
    report.secrets.push(secret.Spec.Name)
  }
  return report
}

