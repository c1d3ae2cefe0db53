/**
 * Commands that write files owned by subordinate ids (layers) run inside
 * tspod's user namespace. Rootless, the CLI re-executes itself there through
 * the tspod-ns helper, which creates or joins the long-lived namespace; as
 * root, or once inside, nothing happens.
 */
import {resolve} from 'node:path'
import type {GlobalOptions} from './context.js'
import {TspodError} from '../errors/index.js'
import {debug} from '../util/log.js'

/** Returns the exit code of the re-executed command, or undefined to go on in this process. */
export async function enterUserNamespaceIfNeeded(global: GlobalOptions, argv: string[]): Promise<number | undefined> {
  if (process.getuid?.() === 0 || process.env.TSPOD_USERNS === '1') return undefined
  const [{resolveStorePaths}, ns] = await Promise.all([import('../config/paths.js'), import('../rootless/ns-helper.js')])
  if (ns.isInUserNamespace()) return undefined
  const helperPath = ns.helperPath()
  const mappings = ns.checkRootlessPrerequisites({helperPath})
  const paths = resolveStorePaths({root: global.root, runroot: global.runroot})
  debug(`re-executing in the user namespace (runroot ${paths.runRoot})`)
  return ns.reexecInNamespace(argv, {runRoot: paths.runRoot, helperPath, mappings})
}

/**
 * bin/tspod entered the namespace of the runroot it found on the command line
 * (or the default one) before Node started. That is only right if this
 * command runs in the namespace and resolves the same runroot; the shortcut
 * cannot be undone from inside, so a disagreement is an error, never a
 * command run in the wrong namespace.
 */
export async function checkShortcutJoin(global: GlobalOptions, needsUserNamespace: boolean): Promise<void> {
  const joined = process.env.TSPOD_NS_JOINED ?? ''
  delete process.env.TSPOD_NS_JOINED
  const hint = 'Run it again with TSPOD_NS_SHORTCUT=0 in the environment, and report the command line as a bug'
  if (!needsUserNamespace) throw new TspodError('bin/tspod entered the user namespace for a command that runs outside it', {hint})
  const {resolveStorePaths} = await import('../config/paths.js')
  const {runRoot} = resolveStorePaths({root: global.root, runroot: global.runroot})
  if (resolve(runRoot) !== resolve(joined)) {
    throw new TspodError(`bin/tspod entered the user namespace of runroot ${joined}, but this command uses runroot ${runRoot}`, {hint})
  }
  debug(`entered the user namespace of ${joined} before Node started`)
}
