import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {lookupImage} from '../../image/lookup.js'
import {imageHistory} from '../../image/inspect.js'
import {formatSize, formatTimeAgo} from '../../util/units.js'

export default async function imageHistoryHandler(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const image = lookupImage(engine.store.readImages(), ctx.args[0], lookupOptions(engine))
  const history = imageHistory(engine.store, image)
  const human = ctx.flags.human !== false
  const noTrunc = flagBool(ctx, 'no-trunc')
  const format = flagString(ctx, 'format')
  if (format === 'json') {
    const out = history.map(h => ({id: h.id, created: h.created?.toISOString(), CreatedBy: h.createdBy, size: h.size, comment: h.comment, tags: h.tags.length > 0 ? h.tags : null}))
    ctx.stdout.write(JSON.stringify(out, null, 4) + '\n')
    return
  }
  const rows = history.map(h => ({
    ID: h.id === '<missing>' || noTrunc ? h.id : h.id.slice(0, 12),
    Created: h.created ? (human ? formatTimeAgo(h.created) : h.created.toISOString()) : '',
    CreatedSince: h.created ? formatTimeAgo(h.created) : '',
    CreatedAt: h.created ? h.created.toISOString() : '',
    CreatedBy: noTrunc || h.createdBy.length <= 45 ? h.createdBy : h.createdBy.slice(0, 42) + '...',
    Size: human ? formatSize(h.size) : String(h.size),
    Comment: h.comment,
    Tags: h.tags.join(', '),
  }))
  if (flagBool(ctx, 'quiet')) {
    for (const r of rows) ctx.stdout.write(r.ID + '\n')
    return
  }
  ctx.stdout.write(renderRows(rows, {
    format,
    defaultColumns: [
      {header: 'ID', field: 'ID'},
      {header: 'CREATED', field: 'Created'},
      {header: 'CREATED BY', field: 'CreatedBy'},
      {header: 'SIZE', field: 'Size'},
      {header: 'COMMENT', field: 'Comment'},
    ],
  }))
}
