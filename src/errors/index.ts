/**
 * The one error model of tspod. Every failure that reaches the user is a
 * TspodError: an exit code (Podman's: 125 for tspod's own errors, 126 when a
 * command cannot be invoked, 127 when it is not found) and an optional hint
 * line that says how to fix it. This module imports nothing of ours.
 */

export const EXIT_ENGINE = 125
export const EXIT_CANNOT_INVOKE = 126
export const EXIT_NOT_FOUND = 127

export class TspodError extends Error {
  readonly exitCode: number
  readonly hint?: string

  constructor(message: string, options: {exitCode?: number; hint?: string; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.exitCode = options.exitCode ?? EXIT_ENGINE
    this.hint = options.hint
  }
}

/** A flag, argument or file the user gave is not acceptable. */
export class InvalidArgumentError extends TspodError {}

/** An image reference or ID matched nothing in the local store. */
export class NoSuchImageError extends TspodError {
  constructor(ref: string, hint?: string) {
    super(`${ref}: image not known`, {hint})
  }
}

export class NoSuchContainerError extends TspodError {
  constructor(ref: string) {
    super(`no container with name or ID "${ref}" found: no such container`)
  }
}

export class NameInUseError extends TspodError {}

/** Something the store holds contradicts itself or the caller's expectation. */
export class StorageError extends TspodError {}

/** The host is not set up for rootless use: the hint says exactly what to do. */
export class RootlessSetupError extends TspodError {}

export class ConfigError extends TspodError {}

export class RegistryError extends TspodError {}

export class RuntimeError extends TspodError {}

/** Named after the Dockerfile line it came from. */
export class BuildError extends TspodError {}

/** An image is in use by a container and may not be removed. */
export class ImageInUseError extends TspodError {}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code
}
