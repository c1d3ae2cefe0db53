/**
 * Pods in the store: `<graph root>/pods/<id>/pod.json` holds a pod's record
 * and `<graph root>/pods.json` indexes names and IDs. As with containers,
 * adding to the index under the store lock is the commit point of a create,
 * and every file is replaced by rename, so readers take no lock.
 *
 * Which containers belong to a pod is kept once, in each container's record
 * (`pod`): a pod record never lists its members, so the two cannot disagree.
 */
import {readFileSync, readdirSync} from 'node:fs'
import {mkdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {InvalidArgumentError, NameInUseError, StorageError, TspodError, isErrno} from '../errors/index.js'
import type {Store} from '../storage/store.js'
import {writeJsonAtomic} from '../util/atomic.js'
import {generateId, generateName, isValidName} from '../container/names.js'
import {readAllRecords, type ContainerRecord} from '../container/container-store.js'

/** Namespaces a pod's containers can share, by Podman's names. */
export type PodNamespace = 'net' | 'ipc' | 'uts' | 'pid'

export const DEFAULT_SHARE: PodNamespace[] = ['net', 'ipc', 'uts']

export interface PodRecord {
  id: string
  name: string
  created: string
  hostname: string
  labels: Record<string, string>
  share: PodNamespace[]
  /** The infra container's id; absent with --infra=false. */
  infraId?: string
  exitPolicy: 'continue' | 'stop'
  /** --userns, given to every container of the pod. */
  userns?: string
  /** --infra-conmon-pidfile: where the infra container's monitor pid is written at each start. */
  infraMonitorPidFile?: string
  createCommand: string[]
}

export interface PodIndexEntry {
  id: string
  name: string
  created: string
}

function podsDir(store: Store): string {
  return join(store.graphRoot, 'pods')
}

export function podDir(store: Store, id: string): string {
  return join(podsDir(store), id)
}

function indexPath(store: Store): string {
  return join(store.graphRoot, 'pods.json')
}

export function noSuchPod(ref: string): TspodError {
  return new TspodError(`no pod with name or ID ${ref} found: no such pod`, {exitCode: 125, hint: 'List pods with: tspod pod ps'})
}

/** The committed index, read without a lock (it is only replaced by rename). */
export function readPodIndex(store: Store): PodIndexEntry[] {
  try {
    const parsed = JSON.parse(readFileSync(indexPath(store), 'utf8')) as {pods?: PodIndexEntry[]}
    return Array.isArray(parsed.pods) ? parsed.pods : []
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return []
    throw new StorageError(`reading ${indexPath(store)}: ${(err as Error).message}`, {hint: 'Run: tspod system check --repair'})
  }
}

async function writePodIndex(store: Store, entries: PodIndexEntry[]): Promise<void> {
  await writeJsonAtomic(indexPath(store), {version: 1, pods: entries})
}

export function readPod(store: Store, id: string): PodRecord {
  try {
    return JSON.parse(readFileSync(join(podDir(store, id), 'pod.json'), 'utf8')) as PodRecord
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw noSuchPod(id)
    throw new StorageError(`reading pod ${id}: ${(err as Error).message}`, {hint: 'Run: tspod system check --repair'})
  }
}

export async function writePod(store: Store, record: PodRecord): Promise<void> {
  await mkdir(podDir(store, record.id), {recursive: true, mode: 0o700})
  await writeJsonAtomic(join(podDir(store, record.id), 'pod.json'), record)
}

/** A pod by full ID, unique ID prefix, or name. */
export function findPod(store: Store, input: string): PodIndexEntry | undefined {
  const entries = readPodIndex(store)
  // Podman's order: full ID, name, ID prefix.
  const byId = entries.find(e => e.id === input)
  if (byId) return byId
  const byName = entries.find(e => e.name === input)
  if (byName) return byName
  if (!/^[a-f0-9]+$/.test(input)) return undefined
  const hits = entries.filter(e => e.id.startsWith(input))
  if (hits.length > 1) throw new InvalidArgumentError(`more than one result for pod "${input}"`, {hint: 'Give more characters of the ID, or the name'})
  return hits[0]
}

export function lookupPod(store: Store, input: string): PodRecord {
  const entry = findPod(store, input)
  if (!entry) throw noSuchPod(input)
  return readPod(store, entry.id)
}

/** The most recently created pod, for `-l/--latest`. */
export function latestPod(store: Store): PodRecord {
  const entries = readPodIndex(store)
  if (entries.length === 0) throw noSuchPod('latest')
  return readPod(store, entries.reduce((a, b) => (Date.parse(b.created) > Date.parse(a.created) ? b : a)).id)
}

/**
 * Reserve a name and an ID and commit the pod's record. Pod names are their
 * own namespace (a pod and a container may share a name), as in Podman.
 */
export async function addPod(store: Store, name: string | undefined, prepare: (id: string, name: string) => PodRecord): Promise<PodRecord> {
  if (name !== undefined && !isValidName(name)) {
    throw new InvalidArgumentError(`pod name "${name}" is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`)
  }
  return store.withWriteLock(async () => {
    const entries = readPodIndex(store)
    const taken = (n: string) => entries.some(e => e.name === n)
    if (name !== undefined && taken(name)) {
      const existing = entries.find(e => e.name === name)!
      throw new NameInUseError(`adding pod to state: name "${name}" is in use by pod ${existing.id}: pod already exists`, {hint: `Remove it (tspod pod rm -f ${name}) or use --replace`})
    }
    let id = generateId()
    while (entries.some(e => e.id === id)) id = generateId()
    const record = prepare(id, name ?? generateName(taken))
    await writePod(store, record)
    await writePodIndex(store, [...entries, {id, name: record.name, created: record.created}])
    return record
  })
}

/** Drop a pod from the index (the commit point of removal), then its directory. */
export async function dropPod(store: Store, id: string): Promise<void> {
  await store.withWriteLock(async () => {
    await writePodIndex(store, readPodIndex(store).filter(e => e.id !== id))
  })
  await rm(podDir(store, id), {recursive: true, force: true})
}

/** Directories of pods whose index entry is gone (a create or rm killed midway). */
export function orphanPodDirs(store: Store): string[] {
  const known = new Set(readPodIndex(store).map(e => e.id))
  let names: string[]
  try {
    names = readdirSync(podsDir(store))
  } catch {
    return []
  }
  return names.filter(n => /^[a-f0-9]{64}$/.test(n) && !known.has(n)).map(n => join(podsDir(store), n))
}

/** The pod's containers, infra first, then by creation time. */
export function podContainers(store: Store, podId: string): ContainerRecord[] {
  const members: ContainerRecord[] = []
  for (const record of readAllRecords(store)) if (record.pod === podId) members.push(record)
  return members.sort((a, b) => Number(b.infra === true) - Number(a.infra === true) || Date.parse(a.created) - Date.parse(b.created))
}
