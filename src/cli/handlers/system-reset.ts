import {rm} from 'node:fs/promises'
import {engineFor} from '../engine.js'
import {flagBool, type CommandContext} from '../context.js'
import {confirm} from '../prompt.js'

export default async function systemReset(ctx: CommandContext): Promise<number> {
  if (!flagBool(ctx, 'force')) {
    const text = 'WARNING! This will remove:\n - all containers\n - all pods\n - all images\n - all networks\n - all build cache\n - all machines\n - all volumes\nAre you sure you want to continue? [y/N] '
    if (!(await confirm(ctx, text))) return 0
  }
  const engine = await engineFor(ctx)
  const {store} = engine
  // Containers first, through their monitors, so no process keeps writing into the store or holds a mount in it.
  const {removeContainer} = await import('../../container/lifecycle.js')
  const {readContainerIndex, readState} = await import('../../container/container-store.js')
  const {isLiveProcess} = await import('../../util/lock.js')
  const monitors: Array<{pid?: number; start?: string}> = []
  for (const entry of readContainerIndex(store)) {
    const state = readState(store, entry.id)
    monitors.push({pid: state.monitorPid, start: state.monitorStart})
    await removeContainer(engine, entry.id, {force: true, timeoutSeconds: 0, withPod: true}).catch(err => {
      ctx.stderr.write(`Error: removing container ${entry.id.slice(0, 12)}: ${(err as Error).message}\n`)
    })
  }
  // rm -f returns once a container is dead; its monitor unmounts the rootfs
  // and removes the files just after. The store goes only when they are done
  // (an rmdir of a rootfs still mounted fails with EBUSY).
  const deadline = Date.now() + 10_000
  while (monitors.some(m => isLiveProcess(m.pid, m.start)) && Date.now() < deadline) await new Promise(r => setTimeout(r, 10))
  const {stopRootlessNetns} = await import('../../network/rootless-netns.js')
  await stopRootlessNetns(store.runRoot).catch(() => undefined)
  // Under the lock, so no writer commits into a store that is going away.
  await store.withWriteLock(async () => {
    await store.writeImages([])
    for (const entry of ['layers', 'blobs', 'tmp', 'trash', 'containers', 'volumes', 'containers.json', 'pods', 'pods.json', 'networks', 'secrets']) {
      await rm(`${store.graphRoot}/${entry}`, {recursive: true, force: true})
    }
  })
  await rm(store.graphRoot, {recursive: true, force: true})
  const {stopNamespaceHolder} = await import('../../rootless/ns-helper.js')
  await stopNamespaceHolder(store.runRoot)
  await rm(store.runRoot, {recursive: true, force: true})
  return 0
}
