import {rm} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {flagBool, type CommandContext} from '../context.js'
import {quadletInstallDir} from '../../systemd/quadlet-files.js'

export default async function quadletRm(ctx: CommandContext): Promise<number> {
  const dir = quadletInstallDir((process.getuid?.() ?? 0) !== 0)
  let code = 0
  for (const name of ctx.args) {
    const path = join(dir, name)
    if (name.includes('/') || !existsSync(path)) {
      if (flagBool(ctx, 'ignore')) continue
      ctx.stderr.write(`Error: ${name} is not installed in ${dir}\n`)
      code = 1
      continue
    }
    await rm(path)
    ctx.stdout.write(`${path}\n`)
  }
  if (code === 0) ctx.stderr.write('Run `systemctl --user daemon-reload` to unload the removed units.\n')
  return code
}
