// A kill -9 at any moment of import, load or rmi leaves a store that the next
// command uses without any manual repair.
import t from 'tap'
import {expectExit, fixture, makeStore, runAsUser, tspod, tspodBin} from './harness.js'

/** Start a tspod command as the test user and kill -9 every process of it after delayMs. */
async function killDuring(store: {root: string; runroot: string; configHome: string}, args: string[], delayMs: number) {
  const cmd = [tspodBin, '--root', store.root, '--runroot', store.runroot, ...args].map(a => `'${a}'`).join(' ')
  // The pattern matches the Node processes (outside and inside the user
  // namespace) and the tspod-ns helper, not this shell: the brackets keep
  // the pattern's own text in the shell's command line from matching it.
  const script = `${cmd} >/dev/null 2>&1 & sleep ${(delayMs / 1000).toFixed(3)}; pkill -9 -f -- '[m]ain.cjs --root ${store.root} ' ; pkill -9 -f -- '[t]spod-ns --runroot ${store.runroot} ' ; wait; true`
  return runAsUser(['sh', '-c', script], {env: {XDG_CONFIG_HOME: store.configHome}})
}

t.test('kill -9 during import and rmi, then the store works as is', async t => {
  const store = makeStore(t)
  const small = fixture('busybox-rootfs.tar')
  const large = fixture('debian-bookworm-rootfs.tar')
  expectExit(t, await tspod(t, store, ['import', small, 'keep']), 0)
  const delays = [0, 40, 90, 150, 220, 300, 420, 600, 900, 1500]
  for (const [i, delay] of delays.entries()) {
    const source = i % 3 === 2 ? large : small
    await killDuring(store, ['import', source, `victim${i}`], delay)
    if (i % 2 === 1) await killDuring(store, ['rmi', `victim${i - 1}`], delay / 3)
    const images = await tspod(t, store, ['images', '--format', '{{.Repository}}'])
    expectExit(t, images, 0)
    t.match(images.stdout, /localhost\/keep/, `after a kill at ${delay} ms the kept image is listed`)
    const check = await tspod(t, store, ['system', 'check', '--quick'])
    expectExit(t, check, 0)
    t.notMatch(check.stdout, /^Problem/m, `no damage after a kill at ${delay} ms`)
  }
  // Every image that survived is whole, and new writes work.
  expectExit(t, await tspod(t, store, ['import', small, 'after']), 0)
  const full = await tspod(t, store, ['system', 'check'])
  expectExit(t, full, 0)
  t.notMatch(full.stdout, /^Problem/m, 'every blob verifies')
  const repair = await tspod(t, store, ['system', 'check', '--repair'])
  expectExit(t, repair, 0)
  const clean = await tspod(t, store, ['system', 'check'])
  t.notMatch(clean.stdout, /^(Problem|Leftover)/m, 'repair leaves nothing behind')
  const names = (await tspod(t, store, ['images', '--format', '{{.Repository}}'])).stdout.split('\n')
  t.ok(names.includes('localhost/keep') && names.includes('localhost/after'))
})
