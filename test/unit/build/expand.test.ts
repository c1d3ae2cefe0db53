import t from 'tap'
import {expandWord, expandWords, EXPANDING_INSTRUCTIONS} from '../../../src/build/expand.js'
import {DockerfileError} from '../../../src/build/dockerfile-error.js'

const env: Record<string, string> = {PWD: '/home', SHELL: 'bash', NULL: '', FOO: 'a b', PATHV: '/usr/local/bin/tool.tar.gz', AXB: 'aXb'}
const lookup = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined)

// Word cases from BuildKit's shell lexer tests (envVarTest), `error` where it fails.
const wordCases: [string, string][] = [
  ['hello', 'hello'],
  ["he'll'o", 'hello'],
  ["he'llo", 'error'],
  ["he\\'llo", "he'llo"],
  ["he\\\\'llo", 'error'],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['"abc\\\\tdef"', 'abc\\tdef'],
  ["'abc\\tdef'", 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['hello\\\\', 'hello\\'],
  ['"hello', 'error'],
  ['"hello\\"', 'error'],
  ['"hel\'lo"', "hel'lo"],
  ["'hello", 'error'],
  ["'hello\\'", 'hello\\'],
  ["'hello\\there'", 'hello\\there'],
  ['"\'\'"', "''"],
  ['$.', '$.'],
  ['he$1x', 'hex'],
  ['he$.x', 'he$.x'],
  ['he$PWD', 'he/home'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\\\$PWD"', 'he\\/home'],
  ['\\${}', '${}'],
  ['\\${}aaa', '${}aaa'],
  ['he\\${}xx', 'he${}xx'],
  ['${}', 'error'],
  ['${}aaa', 'error'],
  ['he${}xx', 'error'],
  ['he${hi}', 'he'],
  ['he${hi}xx', 'hexx'],
  ['he${PWD}', 'he/home'],
  ['he${.}', 'error'],
  ['he${XXX:-000}xx', 'he000xx'],
  ['he${PWD:-000}xx', 'he/homexx'],
  ['he${XXX:-$PWD}xx', 'he/homexx'],
  ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
  ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
  ['he${XXX:YYY}', 'error'],
  ['he${XXX?}', 'error'],
  ['he${XXX:?}', 'error'],
  ['he${PWD?}', 'he/home'],
  ['he${PWD:?}', 'he/home'],
  ['he${NULL?}', 'he'],
  ['he${NULL:?}', 'error'],
  ['he${XXX:+${PWD}}xx', 'hexx'],
  ['he${PWD:+${XXX}}xx', 'hexx'],
  ['he${PWD:+${SHELL}}xx', 'hebashxx'],
  ['he${XXX:+000}xx', 'hexx'],
  ['he${PWD:+000}xx', 'he000xx'],
  ['he${NULL-x}', 'he'],
  ['he${NULL:-x}', 'hex'],
  ['he${NULL+x}', 'hex'],
  ['he${NULL:+x}', 'he'],
  ["'he${XX}'", 'he${XX}'],
  ['"he${PWD}"', 'he/home'],
  ['"he\'$PWD\'"', "he'/home'"],
  ['"$PWD"', '/home'],
  ["'$PWD'", '$PWD'],
  ["'\\$PWD'", '\\$PWD'],
  ['\'"hello"\'', '"hello"'],
  ['he${PWD', 'error'],
  ['he${PWD=000}xx', 'error'],
  ['he${PWD+${PWD}:}xx', 'he/home:xx'],
  ['he${PWD+\\}}xx', 'he}xx'],
  ['안녕하세요', '안녕하세요'],
  ['안녕${PWD}하세요', '안녕/home하세요'],
  ['$FOO', 'a b'],
  ['"a b"', 'a b'],
  ['${PATHV#*/}', 'usr/local/bin/tool.tar.gz'],
  ['${PATHV##*/}', 'tool.tar.gz'],
  ['${PATHV%.*}', '/usr/local/bin/tool.tar'],
  ['${PATHV%%.*}', '/usr/local/bin/tool'],
  ['${PATHV#nomatch}', '/usr/local/bin/tool.tar.gz'],
  ['${PATHV/local/opt}', '/usr/opt/bin/tool.tar.gz'],
  ['${PATHV//o/0}', '/usr/l0cal/bin/t00l.tar.gz'],
  ['${PATHV/t*l/X}', '/usr/local/bin/X.tar.gz'],
  ['${PATHV/[lb]/_}', '/usr/_ocal/bin/tool.tar.gz'],
  ['${PATHV/\\//:}', ':usr/local/bin/tool.tar.gz'],
  ['${FOO// /_}', 'a_b'],
  ['${AXB//X*/-}', 'a-'],
  ['${AXB//?/-}', '---'],
  ['${AXB//*/-}', '-'],
  ['${AXB/X*/-}', 'a-'],
  ['${AXB/#/-}', 'aXb'],
  ['${PATHV:#x}', 'error'],
  ['${PATHV:%x}', 'error'],
  ['${XXX#a}', ''],
  ['${PWD/', 'error'],
  ['${PWD/a', 'error'],
  ['$', '$'],
  ['a$', 'a$'],
  ['${', 'error'],
]

t.test('expandWord follows BuildKit word by word', async t => {
  for (const [input, want] of wordCases) {
    if (want === 'error') {
      t.throws(() => expandWord(input, lookup), DockerfileError, input)
    } else {
      t.equal(expandWord(input, lookup), want, input)
    }
  }
})

t.test('the backtick escape character', async t => {
  t.equal(expandWord('C:\\dir\\`$PWD', lookup, {escape: '`'}), 'C:\\dir\\$PWD')
  t.equal(expandWord('"a`"b"', lookup, {escape: '`'}), 'a"b')
  t.equal(expandWord('"a\\"', lookup, {escape: '`'}), 'a\\')
})

t.test('${VAR:?msg} fails with the message', async t => {
  t.throws(() => expandWord('${NEED:?set NEED to the release}', lookup), {message: 'NEED: set NEED to the release', name: 'DockerfileError'})
  t.throws(() => expandWord('${NEED?}', lookup), {message: 'NEED: is not allowed to be unset'})
  t.throws(() => expandWord('${NULL:?}', lookup), {message: 'NULL: is not allowed to be empty'})
  const err = (() => {
    try {
      expandWord('"abc', lookup)
    } catch (e) {
      return e as DockerfileError
    }
    return undefined
  })()
  t.equal(err?.exitCode, 125)
  t.match(err?.message, /failed to expand "\\"abc": unexpected end of statement while looking for matching double-quote/)
})

t.test('expandWords splits like the shell lexer', async t => {
  t.same(expandWords('hello world', lookup), ['hello', 'world'])
  t.same(expandWords('  hello   world  ', lookup), ['hello', 'world'])
  t.same(expandWords('"hello world"', lookup), ['hello world'])
  t.same(expandWords('$FOO', lookup), ['a', 'b'])
  t.same(expandWords('"$FOO"', lookup), ['a b'])
  t.same(expandWords('x$FOO', lookup), ['xa', 'b'])
  t.same(expandWords("'a b' c\\ d", lookup), ['a b', 'c d'])
  t.same(expandWords('"" x', lookup), ['x'])
  t.same(expandWords('${XXX:-one two}', lookup), ['one', 'two'])
  t.same(expandWords('', lookup), [])
})

t.test('raw quotes and escapes keep here-document text intact', async t => {
  t.equal(expandWord('echo "$PWD" \'$x\' \\$y', lookup, {rawQuotes: true, rawEscapes: true}), 'echo "/home" \'$x\' \\$y')
})

t.test('EXPANDING_INSTRUCTIONS is the reference list', async t => {
  t.same([...EXPANDING_INSTRUCTIONS].sort(), ['ADD', 'ARG', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'])
  t.notOk(EXPANDING_INSTRUCTIONS.has('RUN'))
  t.notOk(EXPANDING_INSTRUCTIONS.has('ONBUILD'))
})
