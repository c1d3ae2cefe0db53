/**
 * Staging and committing images: the one path by which import, load and pull
 * put images into the store. Blobs and layers are written and verified under
 * tmp/ first; commitImage then moves them into place and rewrites images.json
 * while holding the store lock.
 */
import {createWriteStream} from 'node:fs'
import {mkdir, rename, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable, Transform, type TransformCallback, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {StorageError} from '../errors/index.js'
import {DigestingStream, sha256} from '../storage/hashing.js'
import type {ImageRecord, LayerRecord, Store} from '../storage/store.js'
import {debug} from '../util/log.js'

export interface StagedBlob {
  digest: string
  size: number
  /** Where the verified bytes wait under tmp/; undefined when the store has the blob already. */
  path?: string
}

export interface StagedLayer {
  record: LayerRecord
  blob: StagedBlob
  /** The staged layer directory; undefined when the store has the layer already. */
  dir?: string
  skippedDevices: string[]
}

export interface StageLayerOptions {
  parent?: string
  /** What the manifest says the blob is; verified before anything is committed. */
  expected?: {digest: string; size?: number}
  mediaType: string
  /** Store the decompressed tar as the blob (import does, as Podman does) instead of the bytes as they came. */
  storeUncompressed?: boolean
  /**
   * The caller writes the input's bytes to this file itself (pull's resumable
   * partial download): it becomes the staged blob, and a failure leaves it.
   */
  blobWrittenTo?: string
  rootless: boolean
  onWarning?: (message: string) => void
  /**
   * A directory (on the store's file system, with overlay whiteouts) that
   * already holds exactly what the tar describes, such as a build step's
   * overlay upper directory: it is renamed into place as the layer's files
   * instead of extracting the tar again, and the tar is only hashed and kept
   * as the blob. Writing and later deleting every file twice was most of
   * the cost of a large COPY.
   */
  adoptDir?: string
}

/** Copies every chunk into a file on its way through, honouring the file's backpressure. */
class TeeToFile extends Transform {
  constructor(private readonly file: Writable) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.file.write(chunk)) cb(null, chunk)
    else this.file.once('drain', () => cb(null, chunk))
  }

  override _flush(cb: TransformCallback): void {
    this.file.end(cb)
  }
}

/** Stage a blob held in memory (configs, manifests). */
export async function stageBytes(store: Store, data: Buffer | string, expectedDigest?: string): Promise<StagedBlob> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data
  const digest = sha256(bytes)
  if (expectedDigest && expectedDigest !== digest) {
    throw new StorageError(`blob ${expectedDigest}: content has digest ${digest}`, {hint: 'The source is corrupt or was changed while being read'})
  }
  if (store.hasBlob(digest)) return {digest, size: bytes.length}
  const path = store.stagingPath('blob')
  await writeFile(path, bytes, {flush: true} as never)
  return {digest, size: bytes.length, path}
}

/**
 * Start loading the modules that stageLayer needs (tar-stream among them,
 * about 8 ms of loading here), so that a pull loads them while it waits for
 * the registry rather than after the first layer's bytes arrive.
 */
export function preloadLayerModules(): void {
  void Promise.all([import('../storage/compression.js'), import('../storage/layer-tar.js'), import('../storage/tar-extract.js'), import('tar-stream')]).catch(() => {})
}

/**
 * Stage one layer from its blob's bytes: store the blob as it came, and
 * unpack the (decompressed) tar into a staged layer directory, computing both
 * digests on the way in one pass.
 */
export async function stageLayer(store: Store, input: Readable, options: StageLayerOptions): Promise<StagedLayer> {
  const [{peekStream, detectCompression, decompressStream}, {extractLayer}] = await Promise.all([
    import('../storage/compression.js'),
    import('../storage/layer-tar.js'),
  ])
  const written = options.storeUncompressed ? undefined : options.blobWrittenTo
  const blobPath = written ?? store.stagingPath('blob')
  const dir = store.stagingPath('layer')
  const diffDir = join(dir, 'diff')
  await mkdir(diffDir, {recursive: true, mode: 0o755})
  try {
    if (options.parent && store.driver === 'vfs') await copyTree(store.layerDiffDir(options.parent), diffDir)
    const blobFile = written ? undefined : createWriteStream(blobPath, {flags: 'w', mode: 0o600})
    const compressed = new DigestingStream()
    const {head, stream} = await peekStream(input, 6)
    const kind = detectCompression(head)
    const raw = stream.pipe(compressed)
    stream.on('error', err => raw.destroy(err))
    // An uncompressed blob is its own tar: one hash serves as digest and diff ID.
    const uncompressed = kind === 'none' ? compressed : new DigestingStream()
    const tar = kind === 'none' ? raw : decompressStream(raw, kind)
    if (tar !== raw) raw.on('error', err => tar.destroy(err))
    const plain = kind === 'none' ? raw : tar.pipe(uncompressed)
    if (plain !== raw) tar.on('error', err => plain.destroy(err))
    let extracted: Readable = plain
    if (blobFile && (options.storeUncompressed || kind === 'none')) {
      extracted = plain.pipe(new TeeToFile(blobFile))
      plain.on('error', err => extracted.destroy(err))
    } else if (blobFile) {
      raw.pipe(blobFile)
    }
    const adopt = options.adoptDir !== undefined && store.driver !== 'vfs'
    const report = adopt
      ? await drainTar(extracted)
      : await extractLayer(extracted, diffDir, {
          rootless: options.rootless,
          onWarning: options.onWarning,
          whiteoutMode: store.driver === 'vfs' ? 'delete' : 'overlay',
        })
    if (adopt) {
      await rm(diffDir, {recursive: true, force: true})
      await rename(options.adoptDir!, diffDir)
    }
    if (blobFile) await finished(blobFile)
    if (options.expected && options.expected.digest !== compressed.digest()) {
      throw new StorageError(`blob ${options.expected.digest}: content has digest ${compressed.digest()}`, {hint: 'The source is corrupt; nothing was stored'})
    }
    if (options.expected?.size !== undefined && options.expected.size !== compressed.size) {
      throw new StorageError(`blob ${options.expected.digest}: size ${compressed.size} does not match the expected ${options.expected.size}`, {hint: 'The source is corrupt; nothing was stored'})
    }
    const diffId = uncompressed.digest()
    const storedPlain = options.storeUncompressed || kind === 'none'
    const digest = storedPlain ? diffId : compressed.digest()
    const id = options.parent ? sha256(`${options.parent} ${diffId}`) : diffId
    const record: LayerRecord = {
      id,
      parent: options.parent,
      diffId,
      digest,
      mediaType: storedPlain && options.storeUncompressed ? plainMediaType(options.mediaType) : options.mediaType,
      size: uncompressed.size,
      compressedSize: storedPlain ? uncompressed.size : compressed.size,
      created: new Date().toISOString(),
    }
    await writeFile(join(dir, 'layer.json'), JSON.stringify(record) + '\n')
    debug(`staged layer ${id} (${report.entries} entries, ${uncompressed.size} bytes)`)
    const blob: StagedBlob = {digest, size: record.compressedSize}
    if (store.hasBlob(digest)) await rm(blobPath, {force: true})
    else blob.path = blobPath
    return {record, blob, dir, skippedDevices: report.skippedDevices}
  } catch (err) {
    input.destroy()
    if (!written) await rm(blobPath, {force: true})
    await store.moveToTrash(dir)
    throw err
  }
}

/** Read a tar to its end without writing anything (the digests are taken on the way). */
async function drainTar(input: Readable): Promise<{entries: number; skippedDevices: string[]}> {
  await new Promise<void>((resolve, reject) => {
    input.on('error', reject)
    input.on('end', resolve)
    input.resume()
  })
  return {entries: 0, skippedDevices: []}
}

/** The uncompressed form of a layer media type. */
function plainMediaType(mediaType: string): string {
  return mediaType.startsWith('application/vnd.docker.') ? 'application/vnd.docker.image.rootfs.diff.tar' : 'application/vnd.oci.image.layer.v1.tar'
}

function finished(stream: Writable): Promise<void> {
  if (stream.writableFinished) return Promise.resolve()
  return new Promise((resolve, reject) => {
    stream.once('finish', resolve)
    stream.once('error', reject)
  })
}

async function copyTree(from: string, to: string): Promise<void> {
  const {execFile} = await import('node:child_process')
  await new Promise<void>((resolve, reject) => {
    execFile('cp', ['-a', '--reflink=auto', `${from}/.`, `${to}/`], err =>
      err ? reject(new StorageError(`copying layer ${from}: ${err.message}`)) : resolve(),
    )
  })
}

export interface CommitImageOptions {
  config: StagedBlob
  manifest: StagedBlob
  manifestMediaType: string
  layers: StagedLayer[]
  /** Fully qualified names to give the image; they move away from any other image holding them. */
  names: string[]
  created: string
  /** More manifest digests the image is known by: the manifest list a pull resolved it through. */
  digests?: string[]
}

/** Move staged parts into place and record the image: the commit point. Returns the stored record. */
export async function commitImage(store: Store, options: CommitImageOptions): Promise<ImageRecord> {
  return store.withWriteLock(async () => {
    for (const blob of [options.config, options.manifest, ...options.layers.map(l => l.blob)]) {
      if (blob.path) await store.commitBlob(blob.path, blob.digest)
      else if (!store.hasBlob(blob.digest)) throw new StorageError(`blob ${blob.digest} was removed while the image was being stored`, {hint: 'Run the command again'})
    }
    for (const layer of options.layers) {
      if (layer.dir) await store.commitLayer(layer.dir, layer.record.id)
      else if (!store.hasLayer(layer.record.id)) throw new StorageError(`layer ${layer.record.id} was removed while the image was being stored`, {hint: 'Run the command again'})
    }
    await store.syncDirs()
    const id = options.config.digest.slice('sha256:'.length)
    const images = store.readImages()
    const names = [...new Set(options.names)]
    for (const other of images) {
      if (other.id === id) continue
      const lost = other.names.filter(n => names.includes(n))
      if (lost.length > 0) {
        other.names = other.names.filter(n => !names.includes(n))
        other.namesHistory = [...new Set([...lost, ...(other.namesHistory ?? [])])]
      }
    }
    const existing = images.find(i => i.id === id)
    const record: ImageRecord = existing ?? {
      id,
      names: [],
      digest: options.manifest.digest,
      digests: [],
      manifestMediaType: options.manifestMediaType,
      layers: options.layers.map(l => l.record.id),
      size: options.layers.reduce((n, l) => n + l.record.size, 0),
      created: options.created,
      added: new Date().toISOString(),
    }
    record.names = [...new Set([...record.names, ...names])]
    for (const digest of [options.manifest.digest, ...(options.digests ?? [])]) if (!record.digests.includes(digest)) record.digests.push(digest)
    if (!existing) images.push(record)
    await store.writeImages(images)
    return record
  }, {sweep: true})
}

/** Throw away what stageLayer/stageBytes staged, after a failure. */
export async function discardStaged(store: Store, layers: StagedLayer[], blobs: StagedBlob[]): Promise<void> {
  for (const blob of [...blobs, ...layers.map(l => l.blob)]) if (blob.path) await rm(blob.path, {force: true})
  for (const layer of layers) if (layer.dir) await store.moveToTrash(layer.dir)
}
