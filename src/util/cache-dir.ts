import {join} from 'node:path'

/**
 * tspod's per-user cache directory, $XDG_CACHE_HOME/tspod (~/.cache/tspod by
 * default), or undefined when neither variable is set. Only ever holds what
 * can be rebuilt: losing it costs time, never data.
 */
export function userCacheDir(): string | undefined {
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME ? join(process.env.HOME, '.cache') : undefined)
  return base ? join(base, 'tspod') : undefined
}
