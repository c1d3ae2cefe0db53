import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {NoSuchSecretError, listSecrets, removeSecret} from '../../secrets/secrets.js'
import {appendEvent} from '../../events/events.js'

/** podman-secret-rm(1): prints each removed secret's ID; containers keep their own copy. */
export default async function secretRm(ctx: CommandContext): Promise<number> {
  const all = flagBool(ctx, 'all')
  if (all === ctx.args.length > 0) throw new InvalidArgumentError(all ? '--all and secret names cannot be used together' : 'at least one secret name or ID is required', {hint: 'Name the secrets, or pass --all'})
  const engine = await engineFor(ctx)
  const refs = all ? listSecrets(engine.store).map(s => s.ID) : ctx.args
  let code = 0
  for (const ref of refs) {
    try {
      const removed = await removeSecret(engine.store, ref)
      appendEvent(engine.store.runRoot, {ID: removed.ID, Name: removed.Spec.Name, Status: 'remove', Type: 'secret'})
      ctx.stdout.write(removed.ID + '\n')
    } catch (err) {
      if (err instanceof NoSuchSecretError && flagBool(ctx, 'ignore')) continue
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = 125
    }
  }
  return code
}
