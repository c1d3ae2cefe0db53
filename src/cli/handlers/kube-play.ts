import {spawn} from 'node:child_process'
import {engineFor} from '../engine.js'
import {InvalidArgumentError} from '../../errors/index.js'
import {flagBool, flagList, flagString, type CommandContext} from '../context.js'
import {parseKubeDocuments} from '../../kube/documents.js'
import {planKube, teardownOf} from '../../kube/plan.js'
import {downKube, playKube} from '../../kube/play.js'
import {readKubeSource} from '../../kube/source.js'
import {parseNetworkFlag} from '../../network/backend.js'
import {parsePublish} from '../../network/ports.js'
import {warn} from '../../util/log.js'
import {printDown} from './kube-down.js'

/** podman-kube-play(1). */
export default async function kubePlay(ctx: CommandContext): Promise<void> {
  const engine = await engineFor(ctx)
  const source = await readKubeSource(ctx.args[0]!)
  const docs = parseKubeDocuments(source.text, source.name)
  if (flagBool(ctx, 'down')) {
    printDown(ctx, await downKube(engine, teardownOf(docs), warn))
    return
  }
  const configMaps = []
  for (const file of flagList(ctx, 'configmap').flatMap(v => v.split(',')).filter(Boolean)) {
    const cm = await readKubeSource(file)
    configMaps.push(...parseKubeDocuments(cm.text, cm.name))
  }
  const plan = planKube(docs, {configMaps})
  for (const w of plan.warnings) warn(w)
  const globalArgs = ['--root', engine.store.graphRoot, '--runroot', engine.store.runRoot, '--storage-driver', engine.store.driver]
  const build = ctx.flags.build
  const report = await playKube(engine, plan, {
    replace: flagBool(ctx, 'replace'),
    start: ctx.flags.start !== false,
    networkFlag: flagString(ctx, 'network') === undefined ? undefined : parseNetworkFlag(flagString(ctx, 'network')),
    publish: flagList(ctx, 'publish').flatMap(parsePublish),
    build: build === true ? true : build === false ? false : undefined,
    contextDir: flagString(ctx, 'context-dir') ?? process.cwd(),
    createCommand: ['tspod', ...ctx.argv],
    serviceContainer: flagBool(ctx, 'service-container'),
    annotations: Object.fromEntries(flagList(ctx, 'annotation').map(kv => {
      const i = kv.indexOf('=')
      if (i <= 0) throw new InvalidArgumentError(`--annotation ${kv}: expected key=value`)
      return [kv.slice(0, i), kv.slice(i + 1)]
    })),
    logDriver: flagString(ctx, 'log-driver'),
    userns: flagString(ctx, 'userns'),
    runTspod: args => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [process.argv[1]!, ...globalArgs, ...args], {stdio: ['ignore', 2, 2]})
      child.once('error', reject)
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 125)))
    }),
    warn,
  })
  if (flagBool(ctx, 'quiet')) return
  let out = ''
  if (report.volumes.length > 0) out += `Volumes:\n${report.volumes.join('\n')}\n`
  if (report.secrets.length > 0) out += `Secrets:\n${report.secrets.join('\n')}\n`
  for (const pod of report.pods) out += `Pod:\n${pod.id}\nContainers:\n${pod.containers.join('\n')}\n\n`
  ctx.stdout.write(out)
}
