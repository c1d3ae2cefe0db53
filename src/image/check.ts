/**
 * `system check`: verify every image record, blob and layer of the store,
 * and with repair remove what is damaged or left over, saying what went.
 */
import {createReadStream} from 'node:fs'
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {DigestingStream} from '../storage/hashing.js'
import type {ImageRecord, Store} from '../storage/store.js'
import {collectGarbage} from './images.js'
import {isManifestList} from './lookup.js'
import type {Manifest} from './oci.js'

export interface CheckReport {
  /** Damage found (missing or corrupt parts of images), one line each. */
  problems: string[]
  /**
   * Harmless leftovers of interrupted commands (unreferenced layers, staging
   * entries): the next writer or --repair removes them; they are not damage.
   */
  leftovers: string[]
  /** What repair removed, one line each. */
  removed: string[]
}

async function verifyBlob(store: Store, digest: string, quick: boolean): Promise<string | undefined> {
  if (!store.hasBlob(digest)) return `blob ${digest} is missing`
  if (quick) return undefined
  const hasher = new DigestingStream()
  await pipeline(createReadStream(store.blobPath(digest)), hasher, async function* (source) {
    for await (const _ of source) {
      // drain
    }
  })
  const actual = hasher.digest()
  return actual === digest ? undefined : `blob ${digest} is corrupt: its content has digest ${actual}`
}

async function checkImage(store: Store, image: ImageRecord, quick: boolean, blobCache: Map<string, string | undefined>): Promise<string[]> {
  const problems: string[] = []
  const blob = async (digest: string) => {
    if (!blobCache.has(digest)) blobCache.set(digest, await verifyBlob(store, digest, quick))
    return blobCache.get(digest)
  }
  const name = image.names[0] ? `${image.id.slice(0, 12)} (${image.names[0]})` : image.id.slice(0, 12)
  // A manifest list has no config: its ID is its own.
  for (const digest of isManifestList(image) ? [image.digest] : [`sha256:${image.id}`, image.digest]) {
    const p = await blob(digest)
    if (p) problems.push(`image ${name}: ${p}`)
  }
  if (problems.length === 0 && !isManifestList(image)) {
    const manifest = store.readBlobJson<Manifest>(image.digest)
    if (manifest.layers.length !== image.layers.length) problems.push(`image ${name}: its manifest lists ${manifest.layers.length} layers, its record ${image.layers.length}`)
  }
  for (const layerId of image.layers) {
    if (!store.hasLayer(layerId)) {
      problems.push(`image ${name}: layer ${layerId} is missing`)
      continue
    }
    const layer = store.readLayer(layerId)
    const p = await blob(layer.digest)
    if (p) problems.push(`image ${name}: layer ${layerId}: ${p}`)
  }
  return problems
}

export async function checkStore(store: Store, options: {repair: boolean; quick: boolean}): Promise<CheckReport> {
  const report: CheckReport = {problems: [], leftovers: [], removed: []}
  await store.withWriteLock(async () => {
    const images = store.readImages()
    const blobCache = new Map<string, string | undefined>()
    const damaged: ImageRecord[] = []
    for (const image of images) {
      const problems = await checkImage(store, image, options.quick, blobCache)
      if (problems.length > 0) damaged.push(image)
      report.problems.push(...problems)
    }
    const kept = images.filter(i => !damaged.includes(i))
    const referencedLayers = new Set(images.flatMap(i => i.layers))
    const orphanLayers = store.listLayerIds().filter(l => !referencedLayers.has(l))
    for (const l of orphanLayers) report.leftovers.push(`layer ${l} is not used by any image`)
    const leftovers = (await readdir(join(store.graphRoot, 'tmp')).catch(() => [] as string[])).filter(n => n.startsWith('.tmp-'))
    for (const n of leftovers) report.leftovers.push(`staging entry tmp/${n} was left by an interrupted command`)
    if (!options.repair) return
    for (const image of damaged) report.removed.push(`image ${image.id}${image.names.length > 0 ? ` (${image.names.join(', ')})` : ''}`)
    for (const l of orphanLayers) report.removed.push(`layer ${l}`)
    const before = new Set(store.listBlobDigests())
    await store.writeImages(kept)
    await collectGarbage(store, kept)
    // A corrupt blob still referenced by a kept image cannot exist: images using it were damaged.
    for (const [digest, problem] of blobCache) if (problem && store.hasBlob(digest)) await store.removeBlob(digest)
    for (const d of before) if (!store.hasBlob(d)) report.removed.push(`blob ${d}`)
    for (const n of leftovers) report.removed.push(`staging entry tmp/${n}`)
    await store.sweep()
  }, {sweep: false})
  return report
}
