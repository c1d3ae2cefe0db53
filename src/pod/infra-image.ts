/**
 * The image of infra containers: one file, tspod's static `tspod-infra`, as
 * Podman builds its `podman-pause` image locally from catatonit. Being an
 * ordinary image makes the infra an ordinary container (overlay rootfs,
 * runtime, monitor, network backend, published ports) with no special path.
 * Its tag is the binary's digest, so a new tspod brings a new image and pods
 * made before keep the one they were made with.
 */
import {execFile, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {TspodError, isErrno} from '../errors/index.js'
import type {Engine} from '../engine/engine.js'
import {findImage} from '../image/lookup.js'
import {debug} from '../util/log.js'

export const INFRA_COMMAND = '/tspod-infra'

function infraBinaryPath(): string {
  if (process.env.TSPOD_HELPER_DIR) return join(process.env.TSPOD_HELPER_DIR, 'tspod-infra')
  // process.argv[1] is dist/main.cjs: its grandparent is the package root
  return join(process.argv[1] ?? '', '..', '..', 'build', 'tspod-infra')
}

/** The infra image's reference, imported into the store on first use. */
export async function ensureInfraImage(engine: Engine): Promise<string> {
  const binary = infraBinaryPath()
  let bytes: Buffer
  try {
    bytes = readFileSync(binary)
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new TspodError(`infra container: ${binary}: no such file`, {hint: 'Build tspod\'s C helpers: npm run build (or scripts/build-c.sh), or create the pod with --infra=false'})
    throw err
  }
  const reference = `localhost/tspod-infra:${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`
  const lookup = {searchRegistries: () => [] as string[]}
  if (findImage(engine.store.readImages(), reference, lookup)) return reference
  debug(`importing ${reference} from ${binary}`)
  const dir = await mkdtemp(join(engine.store.tmpDir, 'infra-'))
  try {
    const tar = join(dir, 'rootfs.tar')
    await promisify(execFile)('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--mode=0755', '-C', join(binary, '..'), '-cf', tar, 'tspod-infra'])
    // Layers are extracted inside tspod's user namespace, which `tspod import` enters and this process is not in.
    const args = [
      process.argv[1]!, '--root', engine.store.graphRoot, '--runroot', engine.store.runRoot, '--storage-driver', engine.store.driver,
      'import', '--quiet', '--change', `ENTRYPOINT ["${INFRA_COMMAND}"]`, '--message', 'tspod pod infra', tar, reference,
    ]
    const {code, stderr} = await new Promise<{code: number; stderr: string}>((resolve, reject) => {
      const child = spawn(process.execPath, args, {stdio: ['ignore', 'ignore', 'pipe']})
      let err = ''
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
      child.once('error', reject)
      child.once('exit', (c, signal) => resolve({code: c ?? (signal ? 128 : 125), stderr: err}))
    })
    if (code !== 0) throw new TspodError(`importing the infra image ${reference}: ${stderr.trim().split('\n')[0] ?? `exit code ${code}`}`)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
  return reference
}
