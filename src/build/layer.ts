/**
 * Turning one build step into an image in the store. Every step, metadata
 * steps included, ends as an image of its own (Podman's intermediate
 * images): the next step's container starts from it, and the cache points at
 * it. A step that changed files adds one layer packed from the overlay upper
 * directory it wrote into; a metadata step adds only a history entry marked
 * `empty_layer`.
 *
 * What makes two builds give the same digest lives here: layers are packed
 * by tar-pack.ts (sorted entries, no atime or ctime, no user names) with
 * every mtime clamped to the build's epoch (or set to --timestamp), stored
 * uncompressed as Podman stores built layers, and `created` in the config
 * and history is the epoch, not the wall clock.
 */
import {lstatSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import type {Engine} from '../engine/engine.js'
import {MEDIA, type ImageConfig, type Manifest} from '../image/oci.js'
import {commitImage, discardStaged, stageBytes, stageLayer, type StagedBlob, type StagedLayer} from '../image/stage.js'
import {packDirectory} from '../storage/layer-tar.js'
import type {LayerRecord} from '../storage/store.js'
import {layerMediaType, type ImageFormat} from '../container/commit.js'
import {CONTAINER_INIT_PATHS} from '../container/diff.js'
import {keepZeroMode} from './copy.js'

/** An image a step produced (or a stage starts from): what the next step needs. */
export interface StepImage {
  /** Image ID; undefined for `scratch` before its first step. */
  id?: string
  /** ChainIDs, bottom first. */
  layers: string[]
  config: ImageConfig
  /** Set by writeImage: the store had this image already. */
  existed?: boolean
}

export interface LayerTimes {
  /** Clamp file mtimes to this and use it as `created` (SOURCE_DATE_EPOCH, else 0). */
  epoch: number
  /** --timestamp: every mtime and `created` is this instead. */
  timestamp?: number
}

/** The `created` time of configs and history entries. */
export function createdTime(times: LayerTimes): string {
  return new Date((times.timestamp ?? times.epoch) * 1000).toISOString()
}

/**
 * The files a runtime mounts over (their empty stand-ins in the upper
 * directory) are not what the step wrote: they stay out of the layer, as
 * with `tspod commit`. Applied as the packer writes each header, so the tar
 * is not parsed and packed again.
 */
function dropMountPoints(header: {name: string; type?: string; mode?: number}): object | null {
  const path = `/${header.name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '')}`
  if (header.type !== 'directory' && CONTAINER_INIT_PATHS.has(path)) return null
  return {...header, mode: keepZeroMode(header.mode ?? 0)}
}

/** Pack `dir` (an overlay upper directory, or a tree to squash) as a layer over `parent`, staged under tmp/. */
export async function stageDirectoryLayer(
  engine: Engine,
  dir: string,
  parent: string | undefined,
  options: {format: ImageFormat; times: LayerTimes; onWarning?: (message: string) => void; adopt?: boolean},
): Promise<StagedLayer> {
  // An adopted directory becomes the layer's files as it is: what the tar leaves out must go from it too.
  if (options.adopt) for (const path of CONTAINER_INIT_PATHS) removeStandInFile(join(dir, path))
  const tar = packDirectory(dir, {sourceDateEpoch: options.times.epoch, timestamp: options.times.timestamp, onWarning: options.onWarning, mapHeader: dropMountPoints})
  return stageLayer(engine.store, tar, {
    parent,
    mediaType: options.format === 'docker' ? MEDIA.dockerLayer : MEDIA.ociLayer,
    storeUncompressed: true,
    rootless: engine.rootless,
    onWarning: options.onWarning,
    adoptDir: options.adopt ? dir : undefined,
  })
}

function removeStandInFile(path: string): void {
  try {
    if (!lstatSync(path).isDirectory()) unlinkSync(path)
  } catch {
    // not there
  }
}

export interface WriteImageOptions {
  format: ImageFormat
  names: string[]
  annotations?: Record<string, string>
}

/**
 * Store an image made of `layers` (already in the store) plus `added`
 * (staged, or none) with `config`. Staged parts are discarded on failure.
 */
export async function writeImage(engine: Engine, layers: string[], added: StagedLayer | undefined, config: ImageConfig, options: WriteImageOptions): Promise<StepImage> {
  const {store} = engine
  const blobs: StagedBlob[] = []
  try {
    const records: LayerRecord[] = layers.map(id => store.readLayer(id))
    if (added) records.push(added.record)
    const full: ImageConfig = {...config, rootfs: {type: 'layers', diff_ids: records.map(l => l.diffId)}}
    const configBlob = await stageBytes(store, JSON.stringify(full))
    blobs.push(configBlob)
    const docker = options.format === 'docker'
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: docker ? MEDIA.dockerManifest : MEDIA.ociManifest,
      config: {mediaType: docker ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: configBlob.digest, size: configBlob.size},
      layers: records.map(l => ({mediaType: layerMediaType(l.mediaType, options.format), digest: l.digest, size: l.compressedSize})),
    }
    if (!docker && options.annotations && Object.keys(options.annotations).length > 0) manifest.annotations = options.annotations
    const manifestBlob = await stageBytes(store, JSON.stringify(manifest))
    blobs.push(manifestBlob)
    const existing: StagedLayer[] = layers.map((_, i) => ({record: records[i]!, blob: {digest: records[i]!.digest, size: records[i]!.compressedSize}, skippedDevices: []}))
    const existed = store.readImages().some(i => `sha256:${i.id}` === configBlob.digest)
    const stored = await commitImage(store, {
      config: configBlob,
      manifest: manifestBlob,
      manifestMediaType: manifest.mediaType!,
      layers: added ? [...existing, added] : existing,
      names: options.names,
      created: full.created ?? new Date(0).toISOString(),
    })
    return {id: stored.id, layers: stored.layers, config: full, existed}
  } catch (err) {
    await discardStaged(store, added ? [added] : [], blobs)
    throw err
  }
}
