/**
 * tspod's per-user store (layout described in docs/storage-layout.md).
 *
 * Writers stage everything under tmp/ (names carry their pid), then, holding
 * storage.lock, rename staged blobs and layers into place and finally rewrite
 * images.json atomically: that rewrite is the commit point. Readers read
 * images.json without any lock, so they never wait for a pull or an import.
 * A writer killed at any moment leaves only tmp/ entries of a dead pid and
 * unreferenced blobs or layers, which the next writer sweeps away.
 */
import {existsSync, mkdirSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {mkdir, readdir, rename, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {StorageError, isErrno} from '../errors/index.js'
import {isStaleTemp, syncDir, tempPathFor, writeFileAtomicSync, writeJsonAtomic} from '../util/atomic.js'
import {withLock} from '../util/lock.js'
import {debug} from '../util/log.js'
import {digestHex} from './digest.js'

export const LAYOUT_VERSION = 1

export type StorageDriver = 'overlay' | 'vfs'

export interface StoreOptions {
  graphRoot: string
  runRoot: string
  driver: StorageDriver
}

export interface LayerRecord {
  /** ChainID of the layer, `sha256:<hex>`: the identity of this layer and all below it. */
  id: string
  parent?: string
  /** Digest of the uncompressed tar (the image config's rootfs.diff_ids entry). */
  diffId: string
  /** Digest of the blob the layer came from, as the manifest names it. */
  digest: string
  mediaType: string
  /** Size in bytes of the uncompressed tar. */
  size: number
  /** Size in bytes of the blob as stored (compressed or not). */
  compressedSize: number
  created: string
}

export interface ImageRecord {
  /** The config digest's hex: Podman's image ID. */
  id: string
  names: string[]
  /** Digest of the manifest the image was stored with. */
  digest: string
  /** Every manifest digest the image is known by (RepoDigests are built from these). */
  digests: string[]
  manifestMediaType: string
  /** ChainIDs of the layers, bottom first. */
  layers: string[]
  /** Total uncompressed size of the layers. */
  size: number
  created: string
  /** When this store got the image. */
  added: string
  /** Names the image had before they moved to other images. */
  namesHistory?: string[]
}

export interface ImageIndex {
  version: number
  images: ImageRecord[]
}

interface StoreMeta {
  layout: number
  driver: StorageDriver
}

export class Store {
  readonly graphRoot: string
  readonly runRoot: string
  readonly driver: StorageDriver

  private constructor(options: StoreOptions) {
    this.graphRoot = options.graphRoot
    this.runRoot = options.runRoot
    this.driver = options.driver
  }

  /**
   * Open a store; create it when it does not exist yet. A store created with
   * another driver is refused: its layers have another shape.
   */
  static open(options: StoreOptions): Store {
    const store = new Store(options)
    const metaPath = join(options.graphRoot, 'store.json')
    let meta: StoreMeta | undefined
    try {
      meta = JSON.parse(readFileSync(metaPath, 'utf8')) as StoreMeta
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw new StorageError(`reading ${metaPath}: ${(err as Error).message}`, {hint: 'Run: tspod system check --repair'})
    }
    if (meta) {
      if (meta.layout > LAYOUT_VERSION) {
        throw new StorageError(`store ${options.graphRoot} has layout version ${meta.layout}, newer than this tspod understands (${LAYOUT_VERSION})`, {hint: 'Upgrade tspod, or use another --root'})
      }
      if (meta.driver !== options.driver) {
        throw new StorageError(`database storage driver "${options.driver}" does not match the store's driver "${meta.driver}" in ${options.graphRoot}`, {hint: `Use --storage-driver ${meta.driver}, or remove the store with: tspod system reset`})
      }
      return store
    }
    for (const dir of ['', 'blobs/sha256', 'layers', 'tmp', 'trash']) mkdirSync(join(options.graphRoot, dir), {recursive: true, mode: 0o700})
    writeFileAtomicSync(metaPath, JSON.stringify({layout: LAYOUT_VERSION, driver: options.driver}) + '\n')
    return store
  }

  /** The driver an existing store was created with, if any (for `info` and defaults). */
  static existingDriver(graphRoot: string): StorageDriver | undefined {
    try {
      return (JSON.parse(readFileSync(join(graphRoot, 'store.json'), 'utf8')) as StoreMeta).driver
    } catch {
      return undefined
    }
  }

  get tmpDir(): string {
    return join(this.graphRoot, 'tmp')
  }

  blobPath(digest: string): string {
    return join(this.graphRoot, 'blobs', 'sha256', digestHex(digest))
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest))
  }

  readBlob(digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(digest))
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new StorageError(`blob ${digest} is missing from the store`, {hint: 'Run: tspod system check --repair'})
      throw err
    }
  }

  readBlobJson<T>(digest: string): T {
    return JSON.parse(this.readBlob(digest).toString('utf8')) as T
  }

  layerDir(id: string): string {
    return join(this.graphRoot, 'layers', digestHex(id))
  }

  layerDiffDir(id: string): string {
    return join(this.layerDir(id), 'diff')
  }

  hasLayer(id: string): boolean {
    return existsSync(join(this.layerDir(id), 'layer.json'))
  }

  readLayer(id: string): LayerRecord {
    try {
      return JSON.parse(readFileSync(join(this.layerDir(id), 'layer.json'), 'utf8')) as LayerRecord
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new StorageError(`layer ${id} is missing from the store`, {hint: 'Run: tspod system check --repair'})
      throw err
    }
  }

  listLayerIds(): string[] {
    try {
      return readdirSync(join(this.graphRoot, 'layers'))
        .filter(n => /^[a-f0-9]{64}$/.test(n))
        .map(n => `sha256:${n}`)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return []
      throw err
    }
  }

  listBlobDigests(): string[] {
    try {
      return readdirSync(join(this.graphRoot, 'blobs', 'sha256'))
        .filter(n => /^[a-f0-9]{64}$/.test(n))
        .map(n => `sha256:${n}`)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return []
      throw err
    }
  }

  /** The committed image index; no lock: images.json is only ever replaced by rename. */
  readImages(): ImageRecord[] {
    try {
      return (JSON.parse(readFileSync(join(this.graphRoot, 'images.json'), 'utf8')) as ImageIndex).images
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return []
      throw new StorageError(`reading ${join(this.graphRoot, 'images.json')}: ${(err as Error).message}`, {hint: 'Run: tspod system check --repair'})
    }
  }

  /**
   * What containers use: image IDs and layer IDs that removal must keep. The
   * container store writes containers.json; before any container exists it is absent.
   */
  readContainerRefs(): Array<{id: string; names: string[]; image: string; created: string}> {
    try {
      const index = JSON.parse(readFileSync(join(this.graphRoot, 'containers.json'), 'utf8')) as {containers: Array<{id: string; names: string[]; image: string; created: string}>}
      return index.containers
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return []
      throw new StorageError(`reading ${join(this.graphRoot, 'containers.json')}: ${(err as Error).message}`, {hint: 'Run: tspod system check --repair'})
    }
  }

  /** Replace the image index: the commit point of every image change. Call with the lock held. */
  async writeImages(images: ImageRecord[]): Promise<void> {
    await writeJsonAtomic(join(this.graphRoot, 'images.json'), {version: LAYOUT_VERSION, images} satisfies ImageIndex)
  }

  /** A fresh staging path under tmp/ whose name marks it as this process's. */
  stagingPath(name: string): string {
    return tempPathFor(join(this.tmpDir, name))
  }

  /**
   * Run `fn` holding the store's write lock. Stale staging entries of dead
   * writers are swept first when this process may remove layer files (root,
   * or inside the user namespace).
   */
  async withWriteLock<T>(fn: () => Promise<T>, options: {sweep?: boolean} = {}): Promise<T> {
    return withLock(join(this.graphRoot, 'storage.lock'), async () => {
      if (options.sweep) await this.sweep()
      return fn()
    }, {onWait: pid => debug(`waiting for the store lock held by pid ${pid}`)})
  }

  /** Remove what killed writers left behind: their staging entries and the trash. */
  async sweep(): Promise<void> {
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (isStaleTemp(name)) {
        debug(`removing stale staging entry ${name}`)
        await rm(join(this.tmpDir, name), {recursive: true, force: true})
      }
    }
    await this.emptyTrash()
  }

  async emptyTrash(): Promise<void> {
    const trash = join(this.graphRoot, 'trash')
    for (const name of await readdir(trash).catch(() => [] as string[])) {
      await rm(join(trash, name), {recursive: true, force: true})
    }
  }

  /** Commit a staged blob file under its digest. Content-addressed: an existing copy wins. */
  async commitBlob(stagedPath: string, digest: string): Promise<void> {
    const target = this.blobPath(digest)
    if (existsSync(target)) {
      await rm(stagedPath, {force: true})
      return
    }
    await rename(stagedPath, target)
  }

  /** Commit a staged layer directory (holding diff/ and layer.json). An existing copy wins. */
  async commitLayer(stagedDir: string, id: string): Promise<void> {
    const target = this.layerDir(id)
    if (this.hasLayer(id)) {
      await this.moveToTrash(stagedDir)
      return
    }
    if (existsSync(target)) await this.moveToTrash(target) // incomplete leftover without layer.json
    await rename(stagedDir, target)
  }

  /** Removal in two steps: an atomic rename out of sight, then the slow delete. */
  async moveToTrash(path: string): Promise<void> {
    const aside = tempPathFor(join(this.graphRoot, 'trash', 'x'))
    try {
      await rename(path, aside)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return
      throw err
    }
    await rm(aside, {recursive: true, force: true})
  }

  async removeLayer(id: string): Promise<void> {
    await this.moveToTrash(this.layerDir(id))
  }

  async removeBlob(digest: string): Promise<void> {
    await rm(this.blobPath(digest), {force: true})
  }

  async syncDirs(): Promise<void> {
    await syncDir(join(this.graphRoot, 'blobs', 'sha256'))
    await syncDir(join(this.graphRoot, 'layers'))
  }

  /** Bytes used below a path, as du would count them (for `system df`). */
  static async diskUsage(path: string): Promise<number> {
    let total = 0
    const walk = async (p: string): Promise<void> => {
      let st
      try {
        st = await stat(p)
      } catch {
        return
      }
      total += st.blocks * 512
      if (st.isDirectory()) for (const n of await readdir(p)) await walk(join(p, n))
    }
    await walk(path)
    return total
  }

  static isEmptyDir(path: string): boolean {
    try {
      return statSync(path).isDirectory() && readdirSync(path).length === 0
    } catch {
      return true
    }
  }
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, {recursive: true, mode: 0o700})
}
