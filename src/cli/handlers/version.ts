import {flagString, type CommandContext} from '../context.js'
import {renderObject} from '../format.js'

declare const TSPOD_VERSION: string
declare const TSPOD_BUILT: string

export default async function version(ctx: CommandContext): Promise<void> {
  const report = {
    Client: {
      APIVersion: TSPOD_VERSION,
      Version: TSPOD_VERSION,
      NodeVersion: process.version,
      Built: Number(TSPOD_BUILT),
      BuiltTime: new Date(Number(TSPOD_BUILT) * 1000).toUTCString(),
      OsArch: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
      Os: 'linux',
    },
  }
  const format = flagString(ctx, 'format')
  if (format) {
    ctx.stdout.write(format === 'json' ? JSON.stringify(report, null, 4) + '\n' : renderObject(report, format, {single: true}))
    return
  }
  const c = report.Client
  ctx.stdout.write(
    `Client:       tspod\nVersion:      ${c.Version}\nAPI Version:  ${c.APIVersion}\nNode Version: ${c.NodeVersion}\nBuilt:        ${c.BuiltTime}\nOS/Arch:      ${c.OsArch}\n`,
  )
}
