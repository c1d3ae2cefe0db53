import {engineFor} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {findSecret, readSecretData, type SecretRecord} from '../../secrets/secrets.js'

/** podman-secret-inspect(1): the data stays hidden unless --showsecret asks for it. */
export default async function secretInspect(ctx: CommandContext): Promise<number> {
  const engine = await engineFor(ctx)
  const show = flagBool(ctx, 'showsecret')
  const found: Array<SecretRecord & {SecretData?: string}> = []
  let code = 0
  for (const ref of ctx.args) {
    const record = findSecret(engine.store, ref)
    if (!record) {
      ctx.stderr.write(`Error: no secret with name or id "${ref}": no such secret\n`)
      code = 125
      continue
    }
    found.push(show ? {...record, SecretData: (await readSecretData(engine.store, record)).toString('utf8')} : record)
  }
  if (flagBool(ctx, 'pretty')) {
    for (const s of found) {
      ctx.stdout.write([
        `ID:              ${s.ID}`,
        `Name:            ${s.Spec.Name}`,
        ...Object.entries(s.Spec.Labels).map(([k, v]) => `Label:           ${k}=${v}`),
        `Driver:          ${s.Spec.Driver.Name}`,
        `Created at:      ${s.CreatedAt}`,
        `Updated at:      ${s.UpdatedAt}`,
        ...(s.SecretData !== undefined ? [`Secret data:     ${s.SecretData}`] : []),
      ].join('\n') + '\n')
    }
    return code
  }
  const format = flagString(ctx, 'format')
  if (found.length > 0 || !format) ctx.stdout.write(renderObject(found, format === 'json' ? undefined : format))
  return code
}
