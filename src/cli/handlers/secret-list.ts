import {engineFor} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {listSecrets, type SecretRecord} from '../../secrets/secrets.js'

function matches(s: SecretRecord, filters: string[]): boolean {
  return filters.every(f => {
    const i = f.indexOf('=')
    const key = f.slice(0, i)
    const value = f.slice(i + 1)
    if (key === 'name') return s.Spec.Name.includes(value)
    if (key === 'id') return s.ID.startsWith(value)
    if (key === 'label') {
      const [k, v] = value.split(/=(.*)/s)
      return k in s.Spec.Labels && (v === undefined || s.Spec.Labels[k] === v)
    }
    throw new InvalidArgumentError(`invalid filter "${f}": secrets filter on name=, id= and label=`)
  })
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  if (seconds < 60) return seconds <= 1 ? 'Less than a second ago' : `${seconds} seconds ago`
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return minutes === 1 ? 'About a minute ago' : `${minutes} minutes ago`
  const hours = Math.round(minutes / 60)
  if (hours < 48) return hours === 1 ? 'About an hour ago' : `${hours} hours ago`
  return `${Math.round(hours / 24)} days ago`
}

/** podman-secret-ls(1). */
export default async function secretList(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const secrets = listSecrets(engine.store).filter(s => matches(s, flagList(ctx, 'filter')))
  if (flagBool(ctx, 'quiet')) {
    for (const s of secrets) ctx.stdout.write(s.ID + '\n')
    return
  }
  const format = flagString(ctx, 'format')
  if (format === 'json') {
    ctx.stdout.write(JSON.stringify(secrets, null, 4) + '\n')
    return
  }
  const rows = secrets.map(s => ({...s, Name: s.Spec.Name, Driver: s.Spec.Driver.Name, CreatedAt: ago(s.CreatedAt), UpdatedAt: ago(s.UpdatedAt)}))
  ctx.stdout.write(renderRows(rows, {
    format,
    noHeading: flagBool(ctx, 'noheading'),
    defaultColumns: [
      {header: 'ID', field: 'ID'},
      {header: 'NAME', field: 'Name'},
      {header: 'DRIVER', field: 'Driver'},
      {header: 'CREATED', field: 'CreatedAt'},
      {header: 'UPDATED', field: 'UpdatedAt'},
    ],
  }))
}
