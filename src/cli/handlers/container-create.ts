import {engineFor} from '../engine.js'
import type {CommandContext} from '../context.js'
import {createOptionsFrom} from '../container-options.js'
import {createContainer} from '../../container/create.js'
import {removeContainer} from '../../container/lifecycle.js'
import {warn} from '../../util/log.js'

export default async function containerCreate(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const options = createOptionsFrom(ctx)
  const {record, warnings} = await createContainer(engine, {...options, removeExisting: id => removeContainer(engine, id, {force: true})})
  for (const w of warnings) warn(w)
  ctx.stdout.write(record.id + '\n')
}
