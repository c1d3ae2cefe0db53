/**
 * `tspod commit`: a container becomes an image. The new image is the
 * container's image plus one layer packed from the container's overlay upper
 * directory (deletions become `.wh.` entries, replaced directories
 * `.wh..wh..opq`), or with --squash a single layer of the whole root file
 * system. Its config is the parent's with what the container changed (Env,
 * Cmd, Entrypoint, WorkingDir, User, Labels) and the --change instructions
 * on top; its history gains one entry. The layer goes through the same
 * staging and commit as every other image write (image/stage.ts).
 *
 * Runs inside tspod's user namespace: the upper directory holds files of
 * every container uid.
 */
import type {Readable} from 'node:stream'
import {TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {applyChanges} from '../image/changes.js'
import {readConfig} from '../image/images.js'
import {qualifyLocalName} from '../image/lookup.js'
import {MEDIA, hostPlatform, type ContainerConfig, type ImageConfig, type Manifest} from '../image/oci.js'
import {commitImage, discardStaged, stageBytes, stageLayer, type StagedBlob, type StagedLayer} from '../image/stage.js'
import {packDirectory} from '../storage/layer-tar.js'
import type {LayerRecord} from '../storage/store.js'
import {containerPaths, currentState, type ContainerRecord} from './container-store.js'
import {rewriteTar} from './copy.js'
import {CONTAINER_INIT_PATHS} from './diff.js'
import {mergeEnvironment} from './exec.js'
import {withContainerRootfs} from './mount.js'
import {pauseContainer, pauseUnsupportedReason, unpauseContainer} from './pause.js'

export type ImageFormat = 'oci' | 'docker'

export interface CommitOptions {
  /** The new image's name; none leaves it unnamed. */
  reference?: string
  /** Dockerfile instructions (--change) applied to the config last. */
  changes: string[]
  message?: string
  author?: string
  pause: boolean
  format: ImageFormat
  squash: boolean
  /** Podman-style progress lines. */
  onProgress?: (line: string) => void
  onWarning?: (message: string) => void
}

export interface CommitReport {
  id: string
  names: string[]
}

/** Variables only this container's runtime set: they do not belong to an image. */
const RUNTIME_ENV = /^(container|HOSTNAME)=/

/** The parent's container config with the container's own settings over it. */
export function committedConfig(parent: ContainerConfig, record: ContainerRecord): ContainerConfig {
  const parentEnv = parent.Env ?? []
  const parentHasHome = parentEnv.some(e => e.startsWith('HOME='))
  // HOME is what the runtime derived from /etc/passwd, unless the image set it.
  const own = record.env.filter(e => !RUNTIME_ENV.test(e) && (parentHasHome || !e.startsWith('HOME=')))
  const out: ContainerConfig = {...parent, Env: mergeEnvironment(parentEnv, own)}
  if (record.cmd.length > 0) out.Cmd = record.cmd
  else delete out.Cmd
  if (record.entrypoint.length > 0) out.Entrypoint = record.entrypoint
  else delete out.Entrypoint
  if (record.workdir && (record.workdir !== '/' || parent.WorkingDir)) out.WorkingDir = record.workdir
  if (record.user) out.User = record.user
  const labels = {...parent.Labels, ...record.labels}
  if (Object.keys(labels).length > 0) out.Labels = labels
  return out
}

/** The layer media type a manifest of `format` uses for a stored layer. */
export function layerMediaType(mediaType: string, format: ImageFormat): string {
  const toOci: Record<string, string> = {[MEDIA.dockerLayer]: MEDIA.ociLayer, [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip}
  const toDocker: Record<string, string> = {[MEDIA.ociLayer]: MEDIA.dockerLayer, [MEDIA.ociLayerGzip]: MEDIA.dockerLayerGzip}
  if (format === 'oci') return toOci[mediaType] ?? mediaType
  const docker = toDocker[mediaType] ?? mediaType
  if (!docker.startsWith('application/vnd.docker.')) {
    throw new TspodError(`a layer of type ${mediaType} cannot be described in the docker format`, {hint: 'Commit with --format oci'})
  }
  return docker
}

/** The files the runtime mounts over (their empty stand-ins in the upper layer) stay out of the image. */
function withoutMountPoints(tar: Readable): Readable {
  return rewriteTar(tar, header => {
    const path = `/${header.name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '')}`
    return header.type !== 'directory' && CONTAINER_INIT_PATHS.has(path) ? null : header
  })
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12)
}

export async function commitContainer(engine: Engine, record: ContainerRecord, options: CommitOptions): Promise<CommitReport> {
  const {store} = engine
  if (record.rootfsKind !== 'overlay') {
    throw new TspodError('commit needs the overlay storage driver: with vfs the container keeps no record of what it changed', {hint: 'Use --storage-driver overlay'})
  }
  const progress = options.onProgress ?? (() => {})
  let paused = false
  if (options.pause && currentState(store, record.id).status === 'running') {
    const reason = pauseUnsupportedReason(engine)
    if (reason === undefined) {
      await pauseContainer(engine, record)
      paused = true
    } else {
      options.onWarning?.(`cannot pause ${record.name} (${reason}): committing it while it runs`)
    }
  }
  const staged: StagedLayer[] = []
  const blobs: StagedBlob[] = []
  try {
    const image = store.readImages().find(i => i.id === record.image)
    const parent: ImageConfig = image ? readConfig(store, image) : {...hostPlatform(), rootfs: {type: 'layers', diff_ids: []}}
    const parentLayers: LayerRecord[] = options.squash ? [] : record.layers.map(id => store.readLayer(id))
    const mediaType = options.format === 'docker' ? MEDIA.dockerLayer : MEDIA.ociLayer
    progress('Getting image source signatures')
    for (const layer of parentLayers) progress(`Copying blob ${short(layer.digest)} skipped: already exists`)
    const stage = (tar: Readable) => stageLayer(store, withoutMountPoints(tar), {
      parent: parentLayers.at(-1)?.id,
      mediaType,
      storeUncompressed: true,
      rootless: engine.rootless,
      onWarning: options.onWarning,
    })
    const layer = options.squash
      ? await withContainerRootfs(engine, record, root => stage(packDirectory(root, {onWarning: options.onWarning})))
      : await stage(packDirectory(containerPaths(store, record.id).diff, {onWarning: options.onWarning}))
    staged.push(layer)
    progress(`Copying blob ${short(layer.record.digest)} done`)

    const created = new Date().toISOString()
    const config: ImageConfig = {
      ...parent,
      created,
      config: applyChanges(committedConfig(parent.config ?? {}, record), options.changes),
      rootfs: {type: 'layers', diff_ids: [...parentLayers.map(l => l.diffId), layer.record.diffId]},
      history: [
        ...(options.squash ? [] : parent.history ?? []),
        {
          created,
          created_by: record.args.join(' '),
          ...(options.author ? {author: options.author} : {}),
          ...(options.message ? {comment: options.message} : {}),
        },
      ],
    }
    if (options.author) config.author = options.author
    else delete config.author
    const docker = options.format === 'docker'
    const configBlob = await stageBytes(store, JSON.stringify(config))
    blobs.push(configBlob)
    progress(`Copying config ${short(configBlob.digest)} done`)
    const layers = [...parentLayers, layer.record]
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: docker ? MEDIA.dockerManifest : MEDIA.ociManifest,
      config: {mediaType: docker ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: configBlob.digest, size: configBlob.size},
      layers: layers.map(l => ({mediaType: layerMediaType(l.mediaType, options.format), digest: l.digest, size: l.compressedSize})),
    }
    const manifestBlob = await stageBytes(store, JSON.stringify(manifest))
    blobs.push(manifestBlob)
    progress('Writing manifest to image destination')
    const names = options.reference ? [qualifyLocalName(options.reference)] : []
    const existing: StagedLayer[] = parentLayers.map(l => ({record: l, blob: {digest: l.digest, size: l.compressedSize}, skippedDevices: []}))
    const stored = await commitImage(store, {
      config: configBlob,
      manifest: manifestBlob,
      manifestMediaType: manifest.mediaType!,
      layers: [...existing, layer],
      names,
      created,
    })
    return {id: stored.id, names}
  } catch (err) {
    await discardStaged(store, staged, blobs)
    throw err
  } finally {
    if (paused) await unpauseContainer(engine, record)
  }
}
