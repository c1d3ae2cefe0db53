/**
 * What an interrupted build must undo. Each step registers how to remove
 * what it holds right now (a RUN container, a temporary mount, a staging
 * directory) and unregisters it once done; on SIGINT, SIGTERM or SIGHUP the
 * registered cleanups run, newest first, and the process exits with 128 +
 * the signal number, as a shell reports it.
 */
import {constants} from 'node:os'
import {debug} from '../util/log.js'

type Cleanup = () => Promise<void>

export class AbortRegistry {
  private readonly cleanups: Cleanup[] = []
  private aborting = false

  /** Register a cleanup; the returned function unregisters it. */
  add(cleanup: Cleanup): () => void {
    this.cleanups.push(cleanup)
    return () => {
      const at = this.cleanups.lastIndexOf(cleanup)
      if (at !== -1) this.cleanups.splice(at, 1)
    }
  }

  get size(): number {
    return this.cleanups.length
  }

  /** Run every registered cleanup, newest first; failures are logged, not thrown. */
  async runAll(): Promise<void> {
    while (this.cleanups.length > 0) {
      const cleanup = this.cleanups.pop()!
      try {
        await cleanup()
      } catch (err) {
        debug(`cleanup after interrupt: ${(err as Error).message}`)
      }
    }
  }

  /** Clean up and exit on a terminating signal; returns the function that removes the handlers. */
  handleSignals(onSignal?: (signal: NodeJS.Signals) => void): () => void {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
    const handler = (signal: NodeJS.Signals): void => {
      if (this.aborting) return
      this.aborting = true
      onSignal?.(signal)
      void this.runAll().finally(() => process.exit(128 + (constants.signals[signal] ?? 0)))
    }
    for (const signal of signals) process.on(signal, handler)
    return () => {
      for (const signal of signals) process.off(signal, handler)
    }
  }
}
