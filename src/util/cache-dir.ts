import {isAbsolute, join} from 'node:path'

/**
 * tspod's per-user cache directory, $XDG_CACHE_HOME/tspod (~/.cache/tspod by
 * default), or undefined when neither variable is set. Only ever holds what
 * can be rebuilt: losing it costs time, never data.
 */
export function userCacheDir(): string | undefined {
  // The XDG base directory spec: a relative $XDG_CACHE_HOME is to be ignored.
  const xdg = process.env.XDG_CACHE_HOME
  const home = process.env.HOME
  const base = xdg && isAbsolute(xdg) ? xdg : home && isAbsolute(home) ? join(home, '.cache') : undefined
  return base ? join(base, 'tspod') : undefined
}

/** A short, stable name for a path in a cache (FNV-1a, 8 hex digits). */
export function pathKey(path: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}
