/**
 * `tspod import`: a rootfs tarball (plain, gzip, zstd, bzip2 or xz; a file,
 * a URL or stdin) becomes a one-layer image.
 */
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {Readable} from 'node:stream'
import {InvalidArgumentError, isErrno} from '../errors/index.js'
import type {Store} from '../storage/store.js'
import {applyChanges} from './changes.js'
import {qualifyLocalName} from './lookup.js'
import {MEDIA, hostPlatform, type ImageConfig, type Manifest} from './oci.js'
import {commitImage, discardStaged, stageBytes, stageLayer, type StagedBlob, type StagedLayer} from './stage.js'
import {importEsm} from '../util/import-esm.js'

export interface ImportOptions {
  source: string
  reference?: string
  changes: string[]
  message?: string
  rootless: boolean
  stdin?: Readable
  platform?: {os?: string; architecture?: string; variant?: string}
  onWarning?: (message: string) => void
}

export interface ImportReport {
  id: string
  names: string[]
  skippedDevices: string[]
}

async function openSource(source: string, stdin?: Readable): Promise<Readable> {
  if (source === '-') return stdin ?? process.stdin
  if (/^https?:\/\//.test(source)) {
    const {default: fetch} = await importEsm<typeof import('node-fetch')>('node-fetch')
    const res = await fetch(source)
    if (!res.ok || !res.body) throw new InvalidArgumentError(`importing from ${source}: HTTP ${res.status} ${res.statusText}`)
    return res.body as unknown as Readable
  }
  try {
    const st = await stat(source)
    if (st.isDirectory()) throw new InvalidArgumentError(`${source} is a directory: tspod import takes a tarball`, {hint: `Make one with: tar -C ${source} -cf rootfs.tar .`})
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new InvalidArgumentError(`${source}: no such file or directory`)
    throw err
  }
  return createReadStream(source)
}

export async function importImage(store: Store, options: ImportOptions): Promise<ImportReport> {
  const names = options.reference ? [qualifyLocalName(options.reference)] : []
  const input = await openSource(options.source, options.stdin)
  const layer = await stageLayer(store, input, {mediaType: MEDIA.ociLayer, storeUncompressed: true, rootless: options.rootless, onWarning: options.onWarning})
  const staged: StagedLayer[] = [layer]
  const blobs: StagedBlob[] = []
  try {
    const created = new Date().toISOString()
    const platform = hostPlatform()
    const config: ImageConfig = {
      created,
      architecture: options.platform?.architecture ?? platform.architecture,
      os: options.platform?.os ?? platform.os,
      ...(options.platform?.variant ? {variant: options.platform.variant} : {}),
      config: applyChanges({}, options.changes),
      rootfs: {type: 'layers', diff_ids: [layer.record.diffId]},
      history: [{created, created_by: `/bin/sh -c #(nop) ADD file:${layer.record.diffId.slice(7)} in /`, ...(options.message ? {comment: options.message} : {})}],
    }
    const configBlob = await stageBytes(store, JSON.stringify(config))
    blobs.push(configBlob)
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: {mediaType: MEDIA.ociConfig, digest: configBlob.digest, size: configBlob.size},
      layers: [{mediaType: layer.record.mediaType, digest: layer.record.digest, size: layer.record.compressedSize}],
    }
    const manifestBlob = await stageBytes(store, JSON.stringify(manifest))
    blobs.push(manifestBlob)
    const record = await commitImage(store, {config: configBlob, manifest: manifestBlob, manifestMediaType: MEDIA.ociManifest, layers: staged, names, created})
    return {id: record.id, names, skippedDevices: layer.skippedDevices}
  } catch (err) {
    await discardStaged(store, staged, blobs)
    throw err
  }
}
