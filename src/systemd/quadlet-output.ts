/**
 * What the quadlet commands do with generated units: write them as a systemd
 * generator does (each file atomically, plus the .wants/.requires symlinks of
 * [Install]), and check them with systemd-analyze verify where it exists.
 */
import {execFile} from 'node:child_process'
import {existsSync, realpathSync} from 'node:fs'
import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {writeFileAtomic} from '../util/atomic.js'
import type {GeneratedUnit} from './quadlet.js'

/** bin/tspod of this installation: units must name an absolute, existing executable. */
export function tspodExecutable(): string {
  const script = process.argv[1] ?? ''
  const candidate = join(dirname(script), '..', 'bin', 'tspod')
  return existsSync(candidate) ? realpathSync(candidate) : 'tspod'
}

export async function writeGeneratedUnits(units: GeneratedUnit[], dir: string): Promise<void> {
  await mkdir(dir, {recursive: true})
  for (const unit of units) {
    await writeFileAtomic(join(dir, unit.name), unit.text)
    for (const [targets, suffix] of [[unit.wantedBy, 'wants'], [unit.requiredBy, 'requires']] as const) {
      for (const target of targets) {
        const linkDir = join(dir, `${target}.${suffix}`)
        await mkdir(linkDir, {recursive: true})
        await rm(join(linkDir, unit.name), {force: true})
        await symlink(join(dir, unit.name), join(linkDir, unit.name))
      }
    }
  }
}

export interface VerifyResult {
  /** False when systemd-analyze is not installed. */
  ran: boolean
  problems: string[]
}

function findSystemdAnalyze(): string | undefined {
  for (const p of ['/usr/bin/systemd-analyze', '/bin/systemd-analyze', '/usr/local/bin/systemd-analyze']) if (existsSync(p)) return p
  return undefined
}

/**
 * `systemd-analyze verify` on the units together (so references between
 * them resolve). It only warns about unknown keys and exits 0; tspod counts
 * every line it prints about our units as a problem.
 */
export async function verifyUnits(units: GeneratedUnit[], user: boolean): Promise<VerifyResult> {
  const analyze = findSystemdAnalyze()
  if (!analyze || units.length === 0) return {ran: Boolean(analyze), problems: []}
  const dir = await mkdtemp(join(tmpdir(), 'tspod-quadlet-'))
  try {
    for (const u of units) await writeFile(join(dir, u.name), u.text)
    const userMode = user && Boolean(process.env.XDG_RUNTIME_DIR)
    const args = [...(userMode ? ['--user'] : []), 'verify', '--man=no', ...units.map(u => join(dir, u.name))]
    const output = await new Promise<string>(resolve => {
      execFile(analyze, args, {env: {...process.env, SYSTEMD_LOG_COLOR: '0'}}, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`))
    })
    const problems = output
      .split('\n')
      .map(l => l.trim())
      .filter(l => l !== '' && units.some(u => l.includes(u.name)))
      .map(l => l.replaceAll(`${dir}/`, ''))
    return {ran: true, problems}
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}
