import t from 'tap'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import type {RegistriesConfig, ShortNameMode} from '../../../src/config/registries-conf.js'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {localCandidates, recordPromptChoice, resolveForPull, resolveShortName} from '../../../src/image/short-names.js'

const digest = `sha256:${'c'.repeat(64)}`

function registries(search: string[], mode: ShortNameMode = 'permissive', aliases: Record<string, string> = {}): RegistriesConfig {
  return {
    unqualifiedSearchRegistries: search,
    searchRegistriesOrigin: '/etc/containers/registries.conf',
    shortNameMode: mode,
    credentialHelpers: ['containers-auth.json'],
    registries: [],
    aliases: new Map(Object.entries(aliases).map(([k, v]) => [k, {value: v, origin: '/etc/containers/registries.conf.d/shortnames.conf'}])),
    aliasCacheFile: '/home/u/.cache/containers/short-name-aliases.conf',
    files: [],
  }
}

t.test('local candidates: alias, localhost, then each search registry', async t => {
  const r = registries(['docker.io', 'quay.io'], 'enforcing', {busybox: 'docker.io/library/busybox'})
  t.same(localCandidates('busybox', r), ['docker.io/library/busybox:latest', 'localhost/busybox:latest', 'quay.io/busybox:latest'])
  t.same(localCandidates('foo:1', r), ['localhost/foo:1', 'docker.io/library/foo:1', 'quay.io/foo:1'])
  t.same(localCandidates('library/foo', r), ['localhost/library/foo:latest', 'docker.io/library/foo:latest', 'quay.io/library/foo:latest'])
  t.same(localCandidates(`foo@${digest}`, registries([])), [`localhost/foo@${digest}`])
  t.same(localCandidates('docker.io/foo', r), ['docker.io/library/foo:latest'])
  t.same(localCandidates('localhost/foo:2', r), ['localhost/foo:2'])
})

t.test('fully qualified names resolve to themselves, normalised', async t => {
  const res = resolveShortName('quay.io/x/y:tag', {registries: registries([])})
  t.same(res, {candidates: ['quay.io/x/y:tag'], rationale: 'fully-qualified', record: false})
  t.same(resolveShortName('docker.io/busybox', {registries: registries([])}).candidates, ['docker.io/library/busybox:latest'])
  t.same(resolveShortName('localhost/foo', {registries: registries([])}).candidates, ['localhost/foo:latest'])
})

t.test('an alias wins, keeping the tag or digest', async t => {
  const r = registries(['quay.io', 'docker.io'], 'enforcing', {busybox: 'docker.io/library/busybox'})
  const res = resolveShortName('busybox:1.36', {registries: r, isTTY: false})
  t.same(res.candidates, ['docker.io/library/busybox:1.36'])
  t.equal(res.rationale, 'alias')
  t.equal(res.record, false)
  t.equal(res.description, 'Resolved "busybox" as an alias (/etc/containers/registries.conf.d/shortnames.conf)')
  t.same(resolveShortName(`busybox@${digest}`, {registries: r}).candidates, [`docker.io/library/busybox@${digest}`])
})

t.test('a local image matching a candidate is used without pulling or prompting', async t => {
  const r = registries(['quay.io', 'docker.io'], 'enforcing')
  const seen: string[] = []
  const res = resolveShortName('foo', {registries: r, isTTY: false, localHas: name => (seen.push(name), name === 'docker.io/library/foo:latest')})
  t.same(res, {candidates: ['docker.io/library/foo:latest'], rationale: 'local', shortName: 'foo', record: false})
  t.same(seen, ['localhost/foo:latest', 'quay.io/foo:latest', 'docker.io/library/foo:latest'])
})

t.test('short-name modes', async t => {
  const two = ['quay.io', 'docker.io']
  const all = ['quay.io/foo:latest', 'docker.io/library/foo:latest']
  for (const mode of ['enforcing', 'permissive', 'disabled'] as const) {
    const one = resolveShortName('foo', {registries: registries(['docker.io'], mode), isTTY: false})
    t.same(one.candidates, ['docker.io/library/foo:latest'], `${mode}: one registry is unambiguous`)
    t.equal(one.rationale, 'search-registries')
  }
  const disabled = resolveShortName('foo', {registries: registries(two, 'disabled'), isTTY: true})
  t.same([disabled.candidates, disabled.rationale, disabled.record], [all, 'search-registries', false])
  t.equal(disabled.description, 'Resolving "foo" using unqualified-search registries (/etc/containers/registries.conf)')
  const permissive = resolveShortName('foo', {registries: registries(two, 'permissive'), isTTY: false})
  t.same([permissive.candidates, permissive.rationale], [all, 'search-registries'])
  for (const mode of ['enforcing', 'permissive'] as const) {
    const prompt = resolveShortName('foo', {registries: registries(two, mode), isTTY: true})
    t.same([prompt.candidates, prompt.rationale, prompt.record, prompt.shortName], [all, 'prompt', true, 'foo'], `${mode} with a TTY prompts`)
  }
  const err = t.throws(() => resolveShortName('foo:1', {registries: registries(two, 'enforcing'), isTTY: false})) as InvalidArgumentError
  t.type(err, InvalidArgumentError)
  t.equal(err.message, 'short-name resolution enforced but cannot prompt without a TTY: "foo:1" could be quay.io/foo:1, docker.io/library/foo:1')
  t.match(err.hint, /fully qualified name/)
})

t.test('resolveForPull: the pick at the prompt is the only candidate, recorded once pulled', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-short-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const config = {...registries(['quay.io', 'docker.io'], 'enforcing'), aliasCacheFile: join(dir, 'containers', 'short-name-aliases.conf')}
  const asked: string[][] = []
  const choose = async (candidates: string[]) => {
    asked.push(candidates)
    return candidates[1]!
  }
  const picked = await resolveForPull('foo:1', config, {isTTY: true, choose})
  t.same(asked, [['quay.io/foo:1', 'docker.io/library/foo:1']], 'the user was asked once, with every candidate')
  t.same([picked.candidates, picked.rationale, picked.record, picked.shortName], [['docker.io/library/foo:1'], 'prompt', true, 'foo'])
  await recordPromptChoice(config, picked, picked.candidates[0]!)
  t.equal(readFileSync(config.aliasCacheFile, 'utf8'), '[aliases]\n  "foo" = "docker.io/library/foo"\n', 'recorded without tag')
  t.equal(config.aliases.get('foo')?.value, 'docker.io/library/foo')
  const next = await resolveForPull('foo:2', config, {isTTY: true, choose})
  t.same([next.candidates, next.rationale, asked.length], [['docker.io/library/foo:2'], 'alias', 1], 'the alias answers the next pull without asking')

  const permissive = registries(['quay.io', 'docker.io'], 'permissive')
  const noChooser = await resolveForPull('bar', permissive, {isTTY: true})
  t.same([noChooser.candidates.length, noChooser.rationale], [2, 'search-registries'], 'with nobody to ask, permissive tries them in order')
  await t.rejects(resolveForPull('bar', registries(['quay.io', 'docker.io'], 'enforcing'), {isTTY: false, choose}), /cannot prompt without a TTY/)
  await t.rejects(resolveForPull('bar', permissive, {isTTY: true, choose: async () => 'evil.example/bar:latest'}), /is not one of the candidates/)
  const plain = await resolveForPull('bar', permissive, {isTTY: false, choose})
  await recordPromptChoice(permissive, plain, plain.candidates[0]!)
  t.equal(permissive.aliases.size, 0, 'nothing is recorded without a prompt')
})

t.test('no alias and no search registries is an error saying where to add them', async t => {
  const err = t.throws(() => resolveShortName('foo', {registries: registries([])})) as InvalidArgumentError
  t.equal(err.message, 'short-name "foo" did not resolve to an alias and no unqualified-search registries are defined in "/etc/containers/registries.conf"')
  t.match(err.hint, /docker\.io\/library\/foo:latest/)
})

t.test('invalid input is an InvalidArgumentError', async t => {
  t.throws(() => resolveShortName('Foo', {registries: registries(['docker.io'])}), {message: /invalid reference format: repository name must be lowercase/})
})
