/**
 * Running a program (not Node) inside tspod's user and mount namespace:
 * `tspod-ns … -- PROGRAM ARGS`. Rootless, this is how the CLI, which stays
 * outside, reaches files owned by subordinate ids and the container's
 * processes without a second Node start. As root or when already inside,
 * the program runs directly.
 */
import {spawn} from 'node:child_process'
import {constants} from 'node:os'
import {TspodError} from '../errors/index.js'
import {checkRootlessPrerequisites, helperPath, isInUserNamespace} from './ns-helper.js'

export interface NamespaceCommand {
  /** argv to put in front of the program: empty when no namespace is needed. */
  prefix: string[]
}

/** The helper invocation that puts a program into the namespace of `runRoot`. */
export function namespacePrefix(runRoot: string): string[] {
  if (process.getuid?.() === 0 || isInUserNamespace()) return []
  const helper = helperPath()
  const maps = checkRootlessPrerequisites({helperPath: helper})
  return [helper, '--runroot', runRoot, '--uidmap', maps.uidmap, '--gidmap', maps.gidmap, '--']
}

export interface NsRunResult {
  code: number
  stdout: string
  stderr: string
}

export function runInNamespace(runRoot: string, argv: string[], options: {input?: string} = {}): Promise<NsRunResult> {
  const full = [...namespacePrefix(runRoot), ...argv]
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), {stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', d => (stdout += d))
    child.stderr!.on('data', d => (stderr += d))
    child.once('error', err => reject(new TspodError(`running ${argv[0]} in the user namespace: ${err.message}`)))
    child.once('close', (code, signal) => resolve({code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout, stderr}))
    if (options.input !== undefined) child.stdin!.end(options.input)
  })
}
