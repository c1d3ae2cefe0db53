import {existsSync, readFileSync, statSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'
import {flagBool, type CommandContext} from '../context.js'
import {InvalidArgumentError, TspodError} from '../../errors/index.js'
import {generateQuadletUnits, quadletKind, type QuadletSource} from '../../systemd/quadlet.js'
import {collectQuadletSources, quadletInstallDir, quadletSearchDirs} from '../../systemd/quadlet-files.js'
import {tspodExecutable} from '../../systemd/quadlet-output.js'
import {writeFileAtomic} from '../../util/atomic.js'

/**
 * Copy Quadlet files into the user's Quadlet directory. Everything is
 * checked first, together with what is installed already (so references
 * resolve): a file that would not generate a unit is never installed.
 */
export default async function quadletInstall(ctx: CommandContext): Promise<void> {
  const user = (process.getuid?.() ?? 0) !== 0
  const incoming: QuadletSource[] = []
  for (const arg of ctx.args) {
    const path = resolve(arg)
    if (!existsSync(path)) throw new InvalidArgumentError(`${arg}: no such file or directory`)
    if (statSync(path).isDirectory()) incoming.push(...collectQuadletSources([path]))
    else if (quadletKind(path)) incoming.push({path, text: readFileSync(path, 'utf8')})
    else throw new InvalidArgumentError(`${arg}: not a Quadlet file`, {hint: 'Quadlet files end in .container, .volume, .network, .pod, .kube or .image'})
  }
  if (incoming.length === 0) throw new InvalidArgumentError(`no Quadlet files in ${ctx.args.join(', ')}`)
  const dir = quadletInstallDir(user)
  const replace = flagBool(ctx, 'replace')
  for (const src of incoming) {
    if (existsSync(join(dir, basename(src.path))) && !replace) {
      throw new TspodError(`${basename(src.path)} is already installed in ${dir}`, {hint: 'Pass --replace to overwrite it, or remove it with `tspod quadlet rm`'})
    }
  }
  const incomingNames = new Set(incoming.map(s => basename(s.path)))
  const installed = collectQuadletSources(quadletSearchDirs(user)).filter(s => !incomingNames.has(basename(s.path)))
  const {errors} = generateQuadletUnits([...incoming, ...installed], {tspod: tspodExecutable()})
  const ours = errors.filter(e => incoming.some(s => e.message.startsWith(`${s.path}:`)))
  if (ours.length > 0) {
    throw new InvalidArgumentError(ours[0].message + (ours.length > 1 ? ` (and ${ours.length - 1} more problem${ours.length > 2 ? 's' : ''})` : ''), {hint: ours[0].hint})
  }
  await mkdir(dir, {recursive: true, mode: 0o755})
  for (const src of incoming) {
    await writeFileAtomic(join(dir, basename(src.path)), src.text)
    ctx.stdout.write(`${join(dir, basename(src.path))}\n`)
  }
  ctx.stderr.write('Run `systemctl --user daemon-reload` to load the new units.\n')
}
