import {engineFor} from '../engine.js'
import {flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'
import {collectInfo} from '../../engine/info.js'
import {toYaml} from '../../util/yaml.js'

export default async function info(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const report = await collectInfo(engine, {runtime: ctx.global.runtime})
  const format = flagString(ctx, 'format')
  if (format === 'json') ctx.stdout.write(JSON.stringify(report, null, 4) + '\n')
  else if (format) ctx.stdout.write(renderObject(goFieldNames(report), format, {single: true}))
  else ctx.stdout.write(toYaml(report))
}

/**
 * Podman's info templates use its Go field names (`{{.Store.GraphDriverName}}`)
 * while its JSON uses camel case (`store.graphDriverName`): templates see the
 * same data with capitalised keys.
 */
// Where Podman's Go field is not just the JSON key capitalised.
const GO_NAMES: Record<string, string> = {
  ociRuntime: 'OCIRuntime',
  idMappings: 'IDMappings',
  uidmap: 'UIDMap',
  gidmap: 'GIDMap',
  container_id: 'ContainerID',
  host_id: 'HostID',
  cgroupVersion: 'CgroupsVersion',
}

function goFieldNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(goFieldNames)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [GO_NAMES[k] ?? k.charAt(0).toUpperCase() + k.slice(1), goFieldNames(v)]))
  }
  return value
}
