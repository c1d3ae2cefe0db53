import {BuildError} from '../errors/index.js'
import type {SourceLocation} from './ast.js'

/**
 * A Dockerfile that cannot be understood. The message starts with
 * `file:line:column:` when the place is known, so editors can jump to it;
 * expansion errors are raised without a place (expand.ts knows only the word)
 * and the caller attaches one with `locateDockerfileError`.
 */
export class DockerfileError extends BuildError {
  readonly location?: SourceLocation
  /** The problem without the location prefix. */
  readonly problem: string

  constructor(location: SourceLocation | undefined, problem: string, hint?: string) {
    super(location === undefined ? problem : `${formatLocation(location)}: ${problem}`, {hint})
    this.location = location
    this.problem = problem
  }
}

export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`
}

/** The same error, now naming the place in the Dockerfile it came from. */
export function locateDockerfileError(err: DockerfileError, location: SourceLocation): DockerfileError {
  return new DockerfileError(location, err.problem, err.hint)
}
