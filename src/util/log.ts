/**
 * Debug logging for `--log-level=debug`: each line carries the milliseconds
 * since the process started, so a debug run shows where time goes.
 */
const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'] as const
export type LogLevel = (typeof levels)[number]

// Kept on globalThis: the dispatcher and the handler are separate bundles,
// each with its own copy of this module, and both must see the level.
const KEY = Symbol.for('tspod.logLevel')
const state = globalThis as unknown as Record<symbol, LogLevel | undefined>

function currentLevel(): LogLevel {
  return state[KEY] ?? 'warn'
}

export function setLogLevel(level: string): boolean {
  if (!(levels as readonly string[]).includes(level)) return false
  state[KEY] = level as LogLevel
  return true
}

export function isDebug(): boolean {
  const current = currentLevel()
  return current === 'debug' || current === 'trace'
}

export function debug(message: string): void {
  if (isDebug()) process.stderr.write(`DEBU[${performance.now().toFixed(1).padStart(7)}ms] ${message}\n`)
}

/** Warnings go to stderr in Podman's shape; `--log-level=error` silences them. */
export function warn(message: string): void {
  if (levels.indexOf(currentLevel()) <= levels.indexOf('warn')) process.stderr.write(`WARN[0000] ${message}\n`)
}
