/**
 * Reading a file of an image as a container would see it, from the layer
 * directories, without mounting anything: rootless, the rootfs is mounted
 * only inside tspod's namespace, but the layers are readable from outside.
 * The top layer that has the path wins; an overlay whiteout (a character
 * device) of the file or a parent in a higher layer hides lower copies.
 * Opaque-directory markers are xattrs, which Node cannot read: a directory
 * made opaque by a higher layer is not detected (rare for /etc).
 */
import {lstatSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {Store} from '../storage/store.js'

export function readImageFile(store: Store, layers: string[], path: string): string | undefined {
  const rel = path.replace(/^\/+/, '')
  for (let i = layers.length - 1; i >= 0; i--) {
    const base = store.layerDiffDir(layers[i])
    const full = join(base, rel)
    try {
      const st = lstatSync(full)
      if (st.isCharacterDevice()) return undefined // whiteout
      if (st.isSymbolicLink() || !st.isFile()) return undefined
      return readFileSync(full, 'utf8')
    } catch {
      // Not in this layer: look below, unless a parent here is opaque or whited out.
      if (store.driver === 'vfs') return undefined // vfs layers are full copies
      if (hiddenBelow(base, rel)) return undefined
    }
  }
  return undefined
}

function hiddenBelow(base: string, rel: string): boolean {
  for (let dir = dirname(rel); dir !== '.' && dir !== '/'; dir = dirname(dir)) {
    try {
      if (lstatSync(join(base, dir)).isCharacterDevice()) return true
    } catch {
      // absent here
    }
  }
  return false
}
