import {loadConfig} from '../../config/index.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {InvalidArgumentError, RegistryError} from '../../errors/index.js'

/** podman-logout(1): removes entries from the primary auth file only. */
export default async function logout(ctx: CommandContext): Promise<void> {
  const {logoutAll, logoutRegistry, normalizeLoginKey} = await import('../../registry/login.js')
  const authfile = flagString(ctx, 'authfile')
  // No store is opened: credentials live outside it.
  const engine = {config: loadConfig({root: ctx.global.root, runroot: ctx.global.runroot})}
  if (flagBool(ctx, 'all')) {
    if (ctx.args[0] !== undefined) throw new InvalidArgumentError('--all takes no registry')
    await logoutAll(engine.config, authfile)
    ctx.stdout.write('Removed login credentials for all registries\n')
    return
  }
  const given = ctx.args[0]
  if (given === undefined) throw new InvalidArgumentError('please provide a registry to log out of, or use --all')
  const key = normalizeLoginKey(given)
  if ((await logoutRegistry(engine.config, key, authfile)) === 'not-logged-in') throw new RegistryError(`not logged into ${key}`)
  ctx.stdout.write(`Removed login credentials for ${key}\n`)
}
