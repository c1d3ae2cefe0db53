/**
 * Commands that write files owned by subordinate ids (layers) run inside
 * tspod's user namespace. Rootless, the CLI re-executes itself there through
 * the tspod-ns helper, which creates or joins the long-lived namespace; as
 * root, or once inside, nothing happens.
 */
import type {GlobalOptions} from './context.js'
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
