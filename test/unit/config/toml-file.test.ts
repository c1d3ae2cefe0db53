import t from 'tap'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ConfigError} from '../../../src/errors/index.js'
import {listDropIns, parseToml, readTomlFile} from '../../../src/config/toml-file.js'

t.test('a syntax error names file, line and column in one line, with a hint', async t => {
  const err = t.throws(() => parseToml('[containers]\npids_limit = 1\nenv = = 2\n', '/x/containers.conf')) as ConfigError
  t.type(err, ConfigError)
  t.match(err.message, /^parsing \/x\/containers\.conf: line 3, column 7: Unexpected character/)
  t.notMatch(err.message, /\n/)
  t.match(err.hint, /mv \/x\/containers\.conf \/x\/containers\.conf\.bak/)
  t.throws(() => parseToml('a = 1\na = 2\n', '/x/f'), {message: /^parsing \/x\/f: line 2, column \d+: Can't redefine existing key$/})
})

t.test('comments do not shift line numbers, and multi-line strings keep lines starting with #', async t => {
  t.throws(() => parseToml('# one\n  # two\n[a]\nb = = 1\n', '/f'), {message: /^parsing \/f: line 4, column 5: /})
  t.same(parseToml('s = """\n# kept\n"""\n# dropped\nn = [\n  # inside\n  1,\n]\n', '/f'), {s: '# kept\n', n: [1]})
  t.same(parseToml("s = '''\n# kept\n'''\n", '/f'), {s: '# kept\n'})
})

t.test('arrays may mix types, as TOML 1.0 and Podman allow', async t => {
  const table = parseToml('env = ["A=1", {append = true}]\nn = [1, "x", 2.5, true]\nplain = [1, 2]\n', 'f')
  t.same(table.env, ['A=1', {append: true}])
  t.same(table.n, [1, 'x', 2.5, true])
  t.same(table.plain, [1, 2])
})

t.test('readTomlFile: absent is undefined unless an env var named it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-toml-'))
  t.equal(readTomlFile(join(dir, 'nope.conf')), undefined)
  t.throws(() => readTomlFile(join(dir, 'nope.conf'), {via: 'CONTAINERS_CONF'}), {
    message: `reading ${join(dir, 'nope.conf')}: no such file (named by CONTAINERS_CONF)`,
  })
  writeFileSync(join(dir, 'ok.conf'), '[a]\nb = "c"\n')
  t.same(readTomlFile(join(dir, 'ok.conf')), {a: {b: 'c'}})
  mkdirSync(join(dir, 'adir'))
  t.throws(() => readTomlFile(join(dir, 'adir')), {message: /is a directory/})
})

t.test('listDropIns: sorted *.conf files only, none when the directory is absent', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-dropin-'))
  for (const name of ['20-b.conf', '10-a.conf', 'readme.txt', '30-c.conf.bak']) writeFileSync(join(dir, name), '')
  mkdirSync(join(dir, '15-dir.conf'))
  t.same(listDropIns(dir), [join(dir, '10-a.conf'), join(dir, '20-b.conf')])
  t.same(listDropIns(join(dir, 'missing')), [])
})
