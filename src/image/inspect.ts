/** `image inspect` and `image history` reports, in Podman's JSON shapes. */
import type {ImageRecord, Store} from '../storage/store.js'
import {readConfig, repoDigests} from './images.js'
import type {ImageConfig, Manifest} from './oci.js'

export interface ImageInspectReport {
  Id: string
  Digest: string
  RepoTags: string[]
  RepoDigests: string[]
  Parent: string
  Comment: string
  Created: string
  Config: NonNullable<ImageConfig['config']>
  Version: string
  Author: string
  Architecture: string
  Os: string
  Variant?: string
  Size: number
  VirtualSize: number
  GraphDriver: {Name: string; Data: Record<string, string>}
  RootFS: {Type: string; Layers: string[]}
  Labels: Record<string, string> | null
  Annotations: Record<string, string>
  ManifestType: string
  User: string
  History: ImageConfig['history']
  NamesHistory: string[]
}

export function inspectImage(store: Store, image: ImageRecord): ImageInspectReport {
  const config = readConfig(store, image)
  let annotations: Record<string, string> = {}
  try {
    annotations = store.readBlobJson<Manifest>(image.digest).annotations ?? {}
  } catch {
    annotations = {}
  }
  const top = image.layers[image.layers.length - 1]
  const lower = image.layers.slice(0, -1).reverse().map(l => store.layerDiffDir(l))
  const data: Record<string, string> = {}
  if (top) {
    if (lower.length > 0) data.LowerDir = lower.join(':')
    data.UpperDir = store.layerDiffDir(top)
  }
  const history = config.history ?? []
  return {
    Id: image.id,
    Digest: image.digest,
    RepoTags: image.names,
    RepoDigests: repoDigests(image),
    Parent: '',
    Comment: history.length > 0 ? history[history.length - 1].comment ?? '' : '',
    Created: config.created ?? image.created,
    Config: config.config ?? {},
    Version: '',
    Author: config.author ?? '',
    Architecture: config.architecture,
    Os: config.os,
    ...(config.variant ? {Variant: config.variant} : {}),
    Size: image.size,
    VirtualSize: image.size,
    GraphDriver: {Name: store.driver, Data: data},
    RootFS: {Type: config.rootfs.type, Layers: config.rootfs.diff_ids},
    Labels: config.config?.Labels ?? null,
    Annotations: annotations,
    ManifestType: image.manifestMediaType,
    User: config.config?.User ?? '',
    History: history,
    NamesHistory: image.namesHistory ?? [],
  }
}

export interface HistoryRow {
  id: string
  created?: Date
  createdBy: string
  size: number
  comment: string
  tags: string[]
}

/** Newest first, as Podman lists it; the top row carries the image ID, the others `<missing>`. */
export function imageHistory(store: Store, image: ImageRecord): HistoryRow[] {
  const config = readConfig(store, image)
  const history = config.history ?? []
  const layers = image.layers.map(l => {
    try {
      return store.readLayer(l).size
    } catch {
      return 0
    }
  })
  const rows: HistoryRow[] = []
  let layerIndex = 0
  for (const entry of history) {
    const size = entry.empty_layer ? 0 : layers[layerIndex++] ?? 0
    rows.push({id: '<missing>', created: entry.created ? new Date(entry.created) : undefined, createdBy: entry.created_by ?? '', size, comment: entry.comment ?? '', tags: []})
  }
  if (rows.length === 0) rows.push({id: '<missing>', createdBy: '', size: image.size, comment: '', tags: []})
  rows.reverse()
  rows[0].id = image.id
  rows[0].tags = image.names
  return rows
}
