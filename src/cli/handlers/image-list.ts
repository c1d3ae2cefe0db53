import {engineFor, lookupOptions} from '../engine.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {listImages, type ImageSummary} from '../../image/images.js'
import {repositoryOf, tagOf} from '../../image/lookup.js'
import {formatSize, formatTimeAgo} from '../../util/units.js'

/** One row per name (a nameless image gets one `<none>` row), with Podman's template fields. */
function rowsFor(images: ImageSummary[], noTrunc: boolean) {
  const rows = []
  for (const image of images) {
    const names = image.Names ?? ['<none>:<none>']
    for (const name of names) {
      const created = new Date(image.Created * 1000)
      rows.push({
        ...image,
        ID: noTrunc ? `sha256:${image.Id}` : image.Id.slice(0, 12),
        Repository: name === '<none>:<none>' ? '<none>' : repositoryOf(name),
        Tag: name === '<none>:<none>' ? '<none>' : tagOf(name),
        Digest: image.Digest,
        Created: formatTimeAgo(created),
        CreatedSince: formatTimeAgo(created),
        CreatedAt: created.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
        Size: formatSize(image.Size),
        VirtualSize: formatSize(image.VirtualSize),
        SharedSize: formatSize(image.SharedSize),
        CreatedUnix: image.Created,
        RawSize: image.Size,
      })
    }
  }
  return rows
}

export default async function imageList(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const images = listImages(engine.store, {
    ...lookupOptions(engine),
    all: flagBool(ctx, 'all'),
    filters: flagList(ctx, 'filter'),
    reference: ctx.args[0],
  })
  const sort = flagString(ctx, 'sort') ?? 'created'
  const format = flagString(ctx, 'format')
  if (format === 'json') {
    sortSummaries(images, sort)
    ctx.stdout.write(JSON.stringify(images, null, 4) + '\n')
    return
  }
  const rows = rowsFor(images, flagBool(ctx, 'no-trunc'))
  rows.sort((a, b) => {
    switch (sort) {
      case 'id': return a.Id.localeCompare(b.Id)
      case 'repository': return a.Repository.localeCompare(b.Repository)
      case 'tag': return a.Tag.localeCompare(b.Tag)
      case 'size': return b.RawSize - a.RawSize
      default: return b.CreatedUnix - a.CreatedUnix
    }
  })
  if (flagBool(ctx, 'quiet')) {
    const seen = new Set<string>()
    for (const row of rows) if (!seen.has(row.ID)) {
      seen.add(row.ID)
      ctx.stdout.write(row.ID + '\n')
    }
    return
  }
  const columns = [
    {header: 'REPOSITORY', field: 'Repository'},
    {header: 'TAG', field: 'Tag'},
    ...(flagBool(ctx, 'digests') ? [{header: 'DIGEST', field: 'Digest'}] : []),
    {header: 'IMAGE ID', field: 'ID'},
    {header: 'CREATED', field: 'Created'},
    {header: 'SIZE', field: 'Size'},
  ]
  ctx.stdout.write(renderRows(rows, {format, defaultColumns: columns, noHeading: flagBool(ctx, 'noheading')}))
}

function sortSummaries(images: ImageSummary[], sort: string): void {
  images.sort((a, b) => (sort === 'size' ? b.Size - a.Size : sort === 'id' ? a.Id.localeCompare(b.Id) : b.Created - a.Created))
}
