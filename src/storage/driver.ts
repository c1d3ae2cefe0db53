/**
 * Which storage driver a store uses. Layers are stored the same way for both
 * kernel overlayfs and fuse-overlayfs (diffs with overlay whiteouts), so the
 * choice between those two is made when a container's rootfs is mounted; vfs
 * stores every layer as a full copy and is the last resort.
 */
import {readFileSync} from 'node:fs'
import {release} from 'node:os'
import {InvalidArgumentError} from '../errors/index.js'
import {Store, type StorageDriver} from './store.js'

export interface DriverChoice {
  driver: StorageDriver
  reason: string
  /** How overlay mounts are made: the kernel (with userxattr when rootless) or fuse-overlayfs. */
  mountProgram?: 'kernel' | 'fuse-overlayfs'
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release())
  if (!m) return false
  const [maj, min] = [Number(m[1]), Number(m[2])]
  return maj > major || (maj === major && min >= minor)
}

function kernelHasOverlay(): boolean {
  try {
    return /\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'))
  } catch {
    return false
  }
}

export function chooseDriver(options: {explicit?: string; graphRoot: string; rootless: boolean}): DriverChoice {
  const existing = Store.existingDriver(options.graphRoot)
  if (options.explicit) {
    if (options.explicit !== 'overlay' && options.explicit !== 'vfs') {
      throw new InvalidArgumentError(`unknown storage driver "${options.explicit}": tspod supports overlay and vfs`)
    }
    return {driver: options.explicit, reason: 'chosen with --storage-driver or storage.conf', mountProgram: options.explicit === 'overlay' ? overlayMounter(options.rootless) : undefined}
  }
  if (existing) return {driver: existing, reason: 'the store was created with it', mountProgram: existing === 'overlay' ? overlayMounter(options.rootless) : undefined}
  if (kernelHasOverlay() && (!options.rootless || kernelAtLeast(5, 11))) {
    return {driver: 'overlay', reason: options.rootless ? 'the kernel mounts overlayfs in a user namespace (5.11+, with userxattr)' : 'the kernel has overlayfs', mountProgram: 'kernel'}
  }
  if (overlayMounter(options.rootless) === 'fuse-overlayfs') {
    return {driver: 'overlay', reason: 'fuse-overlayfs is installed and /dev/fuse is usable', mountProgram: 'fuse-overlayfs'}
  }
  return {driver: 'vfs', reason: 'neither kernel overlayfs in a user namespace nor fuse-overlayfs is usable: every container copies its whole image (slow, uses much disk)'}
}

function overlayMounter(rootless: boolean): 'kernel' | 'fuse-overlayfs' {
  if (kernelHasOverlay() && (!rootless || kernelAtLeast(5, 11))) return 'kernel'
  return 'fuse-overlayfs'
}
