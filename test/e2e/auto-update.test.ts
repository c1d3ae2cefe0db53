// `tspod auto-update` as the unprivileged user against a real registry. There
// is no systemd here, so tspod restarts containers itself from their create
// commands (what their `generate systemd --new` unit would run). A publisher
// store pushes v1, v2 and v3 of one image under one tag; a runner store runs
// it: dry-run says pending, an update restarts on v2, v3 fails its
// healthcheck and is rolled back; `local` policy; unlabelled containers are
// left alone; an unreachable registry restarts nothing.
import t, {type Test} from 'tap'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expectExit, fixture, makeStore, requireUser, tspod, type Store} from './harness.js'
import {startRegistry, writeRegistriesConf} from './registry-harness.js'

requireUser()

const UNIT = 'container-app.service'

/** A busybox image whose command records its version, and marks itself healthy unless told not to. */
function versionCmd(version: string, healthy = true): string {
  return `CMD ["/bin/sh", "-c", "echo ${version} > /tmp/version; ${healthy ? 'touch /tmp/healthy; ' : ''}exec sleep 100000"]`
}

async function importVersion(t: Test, store: Store, name: string, version: string, healthy = true): Promise<string> {
  const r = await tspod(t, store, ['import', '--change', versionCmd(version, healthy), fixture('busybox-rootfs.tar'), name])
  expectExit(t, r, 0)
  return r.stdout.trim().split('\n').pop()!.replace(/^sha256:/, '')
}

async function idOf(t: Test, store: Store, what: 'container' | 'image', ref: string): Promise<string> {
  const r = await tspod(t, store, [what, 'inspect', '--format', '{{.Id}}', ref])
  expectExit(t, r, 0)
  return r.stdout.trim()
}

async function versionIn(t: Test, store: Store, name: string): Promise<string> {
  const r = await tspod(t, store, ['exec', name, 'cat', '/tmp/version'])
  expectExit(t, r, 0)
  return r.stdout.trim()
}

/** Parse the default table into rows of its five columns (cells are separated by runs of 3+ spaces, or 2 for a short cell). */
function tableRows(stdout: string): string[][] {
  return stdout.trim().split('\n').map(line => line.split(/\s{2,}/))
}

t.test('registry policy: dry run, update, rollback, untouched containers, unreachable registry', async t => {
  const registry = await startRegistry(t)
  const publisher = makeStore(t)
  const runner = makeStore(t)
  writeRegistriesConf(publisher, [registry.host])
  writeRegistriesConf(runner, [registry.host])
  const repo = `${registry.host}/test/app:latest`
  const publish = async (version: string, healthy = true): Promise<string> => {
    const id = await importVersion(t, publisher, repo, version, healthy)
    expectExit(t, await tspod(t, publisher, ['push', repo]), 0)
    return id
  }
  const v1 = await publish('v1')
  const cidfile = join(runner.dir, 'app.ctr-id')
  // What a `generate systemd --new` unit runs; systemd would set PODMAN_SYSTEMD_UNIT in the environment, given here as the label Podman records it in.
  const unitRun = [
    'run', `--cidfile=${cidfile}`, '--rm', '--replace', '-d', '--name', 'app',
    '--label', 'io.containers.autoupdate=registry', '--label', `PODMAN_SYSTEMD_UNIT=${UNIT}`,
    '--health-cmd', 'test -e /tmp/healthy', '--health-interval', '1s', '--health-retries', '2',
    repo,
  ]
  expectExit(t, await tspod(t, runner, unitRun), 0)
  expectExit(t, await tspod(t, runner, ['run', '-d', '--name', 'plain', repo]), 0)
  expectExit(t, await tspod(t, runner, ['run', '-d', '--name', 'off', '--label', 'io.containers.autoupdate=disabled', repo]), 0)
  const plainId = await idOf(t, runner, 'container', 'plain')
  const offId = await idOf(t, runner, 'container', 'off')
  t.equal(await idOf(t, runner, 'image', repo), v1, 'the runner pulled v1')
  let appId = await idOf(t, runner, 'container', 'app')
  t.equal(await versionIn(t, runner, 'app'), 'v1')

  await t.test('up to date: UPDATED false, nothing restarted', async t => {
    const r = await tspod(t, runner, ['auto-update'])
    expectExit(t, r, 0)
    t.same(tableRows(r.stdout), [
      ['UNIT', 'CONTAINER', 'IMAGE', 'POLICY', 'UPDATED'],
      [UNIT, `${appId.slice(0, 12)} (app)`, repo, 'registry', 'false'],
    ], 'Podman\'s table, one row for the one labelled container')
    t.equal(await idOf(t, runner, 'container', 'app'), appId)
  })

  const v2 = await publish('v2')
  await t.test('--dry-run reports pending and pulls nothing', async t => {
    const r = await tspod(t, runner, ['auto-update', '--dry-run', '--format', '{{.Image}} {{.Updated}}'])
    expectExit(t, r, 0)
    t.equal(r.stdout, `${repo} pending`)
    const json = await tspod(t, runner, ['auto-update', '--dry-run', '--format', 'json'])
    expectExit(t, json, 0)
    t.same(JSON.parse(json.stdout), [{Unit: UNIT, Container: `${appId.slice(0, 12)} (app)`, ContainerName: 'app', ContainerID: appId, Image: repo, Policy: 'registry', Updated: 'pending'}])
    t.equal(await idOf(t, runner, 'image', repo), v1, 'v2 was not pulled')
    t.equal(await idOf(t, runner, 'container', 'app'), appId, 'nor the container restarted')
  })

  await t.test('update: pulls v2 and recreates the container from its create command', async t => {
    const r = await tspod(t, runner, ['auto-update', '--format', '{{.ContainerName}} {{.Updated}}'])
    expectExit(t, r, 0)
    t.equal(r.stdout, 'app true')
    t.match(r.stderr, /Copying config sha256:/, 'pull progress on stderr')
    t.equal(await idOf(t, runner, 'image', repo), v2, 'the name now holds v2')
    const newId = await idOf(t, runner, 'container', 'app')
    t.not(newId, appId, 'a new container')
    t.equal(await versionIn(t, runner, 'app'), 'v2', 'running v2')
    t.equal(readFileSync(cidfile, 'utf8').trim(), newId, 'the --cidfile names the new container')
    const created = await tspod(t, runner, ['inspect', '--format', '{{json .Config.CreateCommand}}', 'app'])
    t.same((JSON.parse(created.stdout) as string[]).slice(-unitRun.length), unitRun, 'the create command is kept for the next update')
    t.equal(await idOf(t, runner, 'container', 'plain'), plainId, 'the unlabelled container is untouched')
    t.equal(await idOf(t, runner, 'container', 'off'), offId, 'and so is the disabled one')
    appId = newId
    const again = await tspod(t, runner, ['auto-update', '--format', '{{.Updated}}'])
    expectExit(t, again, 0)
    t.equal(again.stdout, 'false', 'then it is up to date')
  })

  await publish('v3', false)
  await t.test('v3 fails its healthcheck: rolled back to v2', async t => {
    const r = await tspod(t, runner, ['auto-update'])
    expectExit(t, r, 0)
    t.equal(tableRows(r.stdout)[1]?.[4], 'rolled back')
    t.match(r.stderr, new RegExp(`container app rolled back to image ${v2.slice(0, 12)}: the updated container is unhealthy`))
    t.equal(await idOf(t, runner, 'image', repo), v2, 'the name holds v2 again')
    t.equal(await versionIn(t, runner, 'app'), 'v2', 'the container runs v2 again')
    const health = await tspod(t, runner, ['inspect', '--format', '{{.State.Status}}', 'app'])
    t.equal(health.stdout.trim(), 'running')
    appId = await idOf(t, runner, 'container', 'app')
  })

  await t.test('--rollback=false: failed, exit 125, the broken container stays', async t => {
    const r = await tspod(t, runner, ['auto-update', '--rollback=false', '--format', '{{.Updated}}'])
    expectExit(t, r, 125, /^Error: auto-updating container app: after the update: the updated container is unhealthy/m)
    t.equal(r.stdout, 'failed')
    t.equal(await versionIn(t, runner, 'app'), 'v3')
    // Back to v2 for what follows.
    expectExit(t, await tspod(t, runner, ['tag', v2, repo]), 0)
    expectExit(t, await tspod(t, runner, ['rm', '-f', `--cidfile=${cidfile}`]), 0)
    expectExit(t, await tspod(t, runner, unitRun), 0)
    appId = await idOf(t, runner, 'container', 'app')
  })

  await t.test('registry unreachable: a clear error, nothing restarted', async t => {
    await registry.stop()
    const r = await tspod(t, runner, ['auto-update'])
    expectExit(t, r, 125, new RegExp(`^Error: auto-updating container app: checking ${repo} in its registry: pinging container registry ${registry.host}: .*(ECONNREFUSED|connection refused)`, 'im'))
    t.match(r.stdout, /registry\s+failed$/m, 'the row says failed')
    t.equal(await idOf(t, runner, 'container', 'app'), appId, 'the container was not restarted')
    t.equal(await versionIn(t, runner, 'app'), 'v2')
  })

  await tspod(t, runner, ['rm', '-af', '-t', '0'])
})

t.test('local policy: a newer local image under the same name', async t => {
  const store = makeStore(t)
  const v1 = await importVersion(t, store, 'localapp', 'local1')
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'loc', '--label', 'io.containers.autoupdate=local', 'localapp']), 0)
  expectExit(t, await tspod(t, store, ['run', '-d', '--name', 'bystander', 'localapp']), 0)
  const bystander = await idOf(t, store, 'container', 'bystander')
  const first = await tspod(t, store, ['auto-update', '--format', '{{.Unit}}|{{.Image}}|{{.Policy}}|{{.Updated}}'])
  expectExit(t, first, 0)
  t.equal(first.stdout, '|localapp|local|false', 'no unit, the raw image name, nothing to do')

  const v2 = await importVersion(t, store, 'localapp', 'local2')
  t.not(v2, v1)
  const dry = await tspod(t, store, ['auto-update', '--dry-run', '--format', '{{.Updated}}'])
  expectExit(t, dry, 0)
  t.equal(dry.stdout, 'pending')
  t.equal(await versionIn(t, store, 'loc'), 'local1', 'dry run restarts nothing')

  const r = await tspod(t, store, ['auto-update', '--format', '{{.Updated}}'])
  expectExit(t, r, 0)
  t.equal(r.stdout, 'true')
  t.equal(await versionIn(t, store, 'loc'), 'local2', 'restarted on the new local image')
  t.equal(await idOf(t, store, 'container', 'bystander'), bystander, 'the unlabelled container is untouched')
  t.equal(await versionIn(t, store, 'bystander'), 'local1')

  // A container that dies at once is rolled back too (no healthcheck: it must still run a few seconds later).
  const crash = await tspod(t, store, ['import', '--change', 'CMD ["/bin/sh", "-c", "exit 3"]', fixture('busybox-rootfs.tar'), 'localapp'])
  expectExit(t, crash, 0)
  const back = await tspod(t, store, ['auto-update', '--format', '{{.Updated}}'])
  expectExit(t, back, 0)
  t.equal(back.stdout, 'rolled back')
  t.match(back.stderr, /the updated container exited with code 3/)
  t.equal(await versionIn(t, store, 'loc'), 'local2')
  t.equal(await idOf(t, store, 'image', 'localapp'), v2, 'the name holds the previous image again')

  const bad = await tspod(t, store, ['auto-update', '--authfile', join(store.dir, 'missing.json')])
  expectExit(t, bad, 125, /^Error: credential file is not accessible: stat .*missing\.json: no such file or directory$/m)
  await tspod(t, store, ['rm', '-af', '-t', '0'])
})
