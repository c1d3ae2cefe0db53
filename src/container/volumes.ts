/**
 * Named volumes: directories under `<graph root>/volumes/<name>/_data` with a
 * volume.json beside them, created on demand when a container names one.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import {isAbsolute, join} from 'node:path'
import {InvalidArgumentError, TspodError, isErrno} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import type {ContainerOptions} from '../runtime/spec.js'
import type {Store} from '../storage/store.js'
import {tempPathFor, writeJsonAtomic} from '../util/atomic.js'
import type {MountRecord} from './container-store.js'
import {generateId} from './names.js'

export interface VolumeRecord {
  Name: string
  Driver: 'local'
  Mountpoint: string
  CreatedAt: string
  Labels: Record<string, string>
  Scope: 'local'
  Options: Record<string, string>
  MountCount: number
  NeedsCopyUp: boolean
  NeedsChown: boolean
}

const VALID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export function volumesDir(store: Store): string {
  return join(store.graphRoot, 'volumes')
}

export function readVolume(store: Store, name: string): VolumeRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(volumesDir(store), name, 'volume.json'), 'utf8')) as VolumeRecord
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined
    throw err
  }
}

export function listVolumes(store: Store): VolumeRecord[] {
  let names: string[] = []
  try {
    names = readdirSync(volumesDir(store))
  } catch {
    return []
  }
  return names.filter(n => VALID.test(n)).map(n => readVolume(store, n)).filter((v): v is VolumeRecord => v !== undefined)
}

/** Create a volume; the directory appears under its name only when complete. */
export async function createVolume(store: Store, name: string | undefined, options: {labels?: Record<string, string>; opts?: Record<string, string>; ignoreExisting?: boolean} = {}): Promise<VolumeRecord> {
  const volName = name ?? generateId()
  if (!VALID.test(volName)) throw new InvalidArgumentError(`volume name "${volName}" is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`)
  const existing = readVolume(store, volName)
  if (existing) {
    if (options.ignoreExisting) return existing
    throw new TspodError(`volume with name ${volName} already exists: volume already exists`)
  }
  const dir = join(volumesDir(store), volName)
  await mkdir(volumesDir(store), {recursive: true, mode: 0o700})
  const staging = tempPathFor(dir)
  await mkdir(join(staging, '_data'), {recursive: true, mode: 0o755})
  const record: VolumeRecord = {
    Name: volName,
    Driver: 'local',
    Mountpoint: join(dir, '_data'),
    CreatedAt: new Date().toISOString(),
    Labels: options.labels ?? {},
    Scope: 'local',
    Options: options.opts ?? {},
    MountCount: 0,
    NeedsCopyUp: true,
    NeedsChown: true,
  }
  await writeJsonAtomic(join(staging, 'volume.json'), record)
  try {
    await rename(staging, dir)
  } catch (err) {
    // Someone else created it meanwhile: theirs stands.
    if ((isErrno(err, 'EEXIST') || isErrno(err, 'ENOTEMPTY')) && existsSync(join(dir, 'volume.json'))) {
      await rm(staging, {recursive: true, force: true})
      if (options.ignoreExisting) return readVolume(store, volName)!
      throw new TspodError(`volume with name ${volName} already exists: volume already exists`)
    }
    throw err
  }
  return record
}

/**
 * `-v NAME:/dst[:opts]` and `--mount type=volume,…` name volumes: resolve each
 * to its directory, creating it on first use, as Podman does. Binds (an
 * absolute source) and tmpfs mounts are left to the spec generator.
 */
export async function resolveVolumeMounts(engine: Engine, spec: ContainerOptions, imageVolumes: string[] = []): Promise<MountRecord[]> {
  const out: MountRecord[] = []
  const taken = new Set<string>()
  for (const v of spec.volumes) {
    const parts = v.split(':')
    if (parts.length === 1 && isAbsolute(parts[0])) {
      // `-v /data`: an anonymous volume, as in Podman.
      const volume = await createVolume(engine.store, undefined)
      out.push({type: 'volume', name: volume.Name, source: volume.Mountpoint, destination: parts[0], options: []})
      taken.add(parts[0])
      continue
    }
    if (parts.length >= 2) taken.add(parts[1])
    if (parts.length < 2 || isAbsolute(parts[0]) || parts[0].startsWith('.')) continue
    const [name, destination, opts] = parts
    const volume = await createVolume(engine.store, name, {ignoreExisting: true})
    out.push({type: 'volume', name, source: volume.Mountpoint, destination, options: opts ? opts.split(',') : []})
  }
  for (const m of spec.mounts) {
    const fields = Object.fromEntries(m.split(',').map(kv => {
      const i = kv.indexOf('=')
      return i === -1 ? [kv, 'true'] : [kv.slice(0, i), kv.slice(i + 1)]
    }))
    if (fields.type !== 'volume') continue
    const destination = fields.destination ?? fields.dst ?? fields.target
    if (!destination) throw new InvalidArgumentError(`--mount ${m}: a volume mount needs destination=`)
    const source = fields.source ?? fields.src
    const volume = await createVolume(engine.store, source, {ignoreExisting: true})
    const options = [fields.ro === 'true' || fields.readonly === 'true' ? 'ro' : 'rw']
    out.push({type: 'volume', name: volume.Name, source: volume.Mountpoint, destination, options})
    taken.add(destination)
  }
  for (const m of spec.mounts) {
    const dst = /(?:^|,)(?:destination|dst|target)=([^,]+)/.exec(m)
    if (dst) taken.add(dst[1])
  }
  // The image's VOLUME paths get anonymous volumes unless the user mounted something there.
  for (const destination of imageVolumes) {
    if (taken.has(destination)) continue
    const volume = await createVolume(engine.store, undefined)
    out.push({type: 'volume', name: volume.Name, source: volume.Mountpoint, destination, options: []})
  }
  return out
}
