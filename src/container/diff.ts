/**
 * `tspod diff`: what a container changed (its overlay upper directory), or
 * what an image's top layer changes, against the layers below, as Podman
 * reports it: `A` added, `C` changed, `D` deleted, sorted by path.
 *
 * The upper directory is read as overlayfs writes it: a character device
 * 0:0 is a deletion, a directory with the opaque xattr replaced the lower
 * one. A directory that exists below is reported as changed only when
 * something in it is (or its mode or owner changed, or it is opaque), so the
 * directories overlay copies up on the way to a change show up, and the ones
 * it copied up for the runtime's own mount points do not. Those mount points
 * (/etc/hosts and friends) are left out, as Podman leaves them out.
 *
 * Runs inside tspod's user namespace: the layers hold files of every
 * container uid, and the image view below is an overlay mount.
 */
import {lstatSync, readdirSync, type Stats} from 'node:fs'
import {TspodError} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {findImage} from '../image/lookup.js'
import {OPAQUE_XATTRS, readXattrs} from '../storage/layer-tar.js'
import {containerPaths, findContainer, readRecord} from './container-store.js'
import {withLowerView} from './mount.js'

/** Mount points the runtime creates in every container; never reported or committed. */
export const CONTAINER_INIT_PATHS: ReadonlySet<string> = new Set([
  '/dev',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/mtab',
  '/etc/resolv.conf',
  '/proc',
  '/run',
  '/run/.containerenv',
  '/run/notify',
  '/run/secrets',
  '/sys',
])

export type ChangeKind = 'A' | 'C' | 'D'

export interface Change {
  kind: ChangeKind
  path: string
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path)
  } catch {
    return null
  }
}

function isWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0
}

interface WalkContext {
  upper: string
  lower: string | undefined
  opaque: Set<string>
  exclude: ReadonlySet<string>
  out: Change[]
}

/**
 * Walks one directory of the upper layer. `lowerIsDir`: the same directory
 * exists below and its contents show through (not opaque, not replaced).
 * Returns whether anything under it was reported.
 */
function walk(ctx: WalkContext, rel: string, lowerIsDir: boolean): boolean {
  let reported = false
  for (const name of readdirSync(`${ctx.upper}${rel}`)) {
    const path = `${rel}/${name}`
    const stats = lstatSync(`${ctx.upper}${path}`)
    const excluded = ctx.exclude.has(path)
    const below = lowerIsDir && ctx.lower !== undefined ? lstatOrNull(`${ctx.lower}${path}`) : null
    if (isWhiteout(stats)) {
      if (!excluded) {
        ctx.out.push({kind: 'D', path})
        reported = true
      }
      continue
    }
    if (!stats.isDirectory()) {
      if (!excluded) {
        ctx.out.push({kind: below ? 'C' : 'A', path})
        reported = true
      }
      continue
    }
    const opaque = ctx.opaque.has(path)
    const inside = walk(ctx, path, below?.isDirectory() === true && !opaque)
    if (excluded) {
      reported ||= inside
      continue
    }
    const changed = !below || !below.isDirectory() || opaque || inside || metadataDiffers(stats, below)
    if (changed) {
      ctx.out.push({kind: below ? 'C' : 'A', path})
      reported = true
    }
  }
  return reported
}

function metadataDiffers(a: Stats, b: Stats): boolean {
  return (a.mode & 0o7777) !== (b.mode & 0o7777) || a.uid !== b.uid || a.gid !== b.gid
}

/** The changes of `upper` over `lower` (undefined: nothing below), sorted by path. */
export async function layerChanges(upper: string, lower: string | undefined, exclude: ReadonlySet<string> = new Set(), onWarning?: (m: string) => void): Promise<Change[]> {
  const xattrs = await readXattrs(upper, msg => onWarning?.(`reading extended attributes: ${msg}`))
  const opaque = new Set<string>()
  for (const [path, attrs] of xattrs ?? new Map()) {
    if (OPAQUE_XATTRS.some(name => attrs.get(name)?.toString() === 'y')) opaque.add(path.slice(upper.length) || '/')
  }
  const out: Change[] = []
  walk({upper, lower, opaque, exclude, out}, '', lower !== undefined)
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

function requireOverlay(engine: Engine): void {
  if (engine.store.driver === 'vfs') {
    throw new TspodError('diff needs the overlay storage driver: with vfs, layers are full copies and hold no record of what changed', {hint: 'Use --storage-driver overlay'})
  }
}

/** `tspod diff CONTAINER|IMAGE`. */
export async function diffContainerOrImage(engine: Engine, ref: string, onWarning?: (m: string) => void): Promise<Change[]> {
  const {store} = engine
  const container = findContainer(store, ref)
  if (container) {
    requireOverlay(engine)
    const record = readRecord(store, container.id)
    const upper = containerPaths(store, record.id).diff
    return withLowerView(engine, record.layers, lower => layerChanges(upper, lower, CONTAINER_INIT_PATHS, onWarning))
  }
  const image = findImage(store.readImages(), ref, {searchRegistries: () => engine.config.registries.unqualifiedSearchRegistries})
  if (!image) throw new TspodError(`${ref} not found: no container or image with that name or ID`)
  requireOverlay(engine)
  const layers = image.layers
  const upper = store.layerDiffDir(layers[layers.length - 1]!)
  return withLowerView(engine, layers.slice(0, -1), lower => layerChanges(upper, lower, new Set(), onWarning))
}

/** Podman's `--format json`: the paths by kind, empty kinds left out. */
export function changesReport(changes: Change[]): {changed?: string[]; added?: string[]; deleted?: string[]} {
  const pick = (kind: ChangeKind) => {
    const paths = changes.filter(c => c.kind === kind).map(c => c.path)
    return paths.length > 0 ? paths : undefined
  }
  return {changed: pick('C'), added: pick('A'), deleted: pick('D')}
}
