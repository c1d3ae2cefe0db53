import {loadConfig} from '../../config/index.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {renderRows} from '../format.js'
import {registryAccessOptions} from '../transfer-progress.js'
import {InvalidArgumentError} from '../../errors/index.js'

const DESCRIPTION_WIDTH = 44

/** podman-search(1): NAME and DESCRIPTION, or NAME and TAG with --list-tags. */
export default async function search(ctx: CommandContext): Promise<void> {
  const limitFlag = flagString(ctx, 'limit')
  if (limitFlag !== undefined && !/^[1-9]\d*$/.test(limitFlag)) throw new InvalidArgumentError(`--limit: invalid number ${JSON.stringify(limitFlag)}`)
  const listTags = flagBool(ctx, 'list-tags')
  const {searchRegistries} = await import('../../registry/search.js')
  const config = loadConfig({root: ctx.global.root, runroot: ctx.global.runroot})
  const results = await searchRegistries(config, ctx.args[0]!, {...registryAccessOptions(ctx), limit: limitFlag === undefined ? undefined : Number(limitFlag), listTags})
  const noTrunc = flagBool(ctx, 'no-trunc')
  const rows = results.map(r => ({...r, Description: noTrunc || r.Description.length <= DESCRIPTION_WIDTH ? r.Description : `${r.Description.slice(0, DESCRIPTION_WIDTH - 3)}...`}))
  const columns = listTags ? [{header: 'NAME', field: 'Name'}, {header: 'TAG', field: 'Tag'}] : [{header: 'NAME', field: 'Name'}, {header: 'DESCRIPTION', field: 'Description'}]
  ctx.stdout.write(renderRows(rows, {format: flagString(ctx, 'format'), defaultColumns: columns}))
}
