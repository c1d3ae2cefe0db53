import t from 'tap'
import {compileTemplate, formatValue} from '../../../src/util/go-template.js'

const run = (src: string, data: unknown) => compileTemplate(src).execute(data)
const data = {
  ID: 'abc', Names: ['a', 'b'], Size: 42, Dangling: false, Empty: [],
  Labels: {app: 'web', 'io.x': 'y'}, Config: {Env: ['A=1', 'B=2'], User: ''}, Nested: {Inner: {V: 1}},
}

t.test('fields, maps and printing like fmt %v', async t => {
  t.equal(run('{{.ID}}', data), 'abc')
  t.equal(run('{{.Names}}', data), '[a b]')
  t.equal(run('{{.Labels}}', data), 'map[app:web io.x:y]')
  t.equal(run('{{.Labels.app}}', data), 'web')
  t.equal(run('{{.Labels.missing}}', data), '<no value>')
  t.equal(run('{{.Nested.Inner.V}}', data), '1')
  t.equal(run('{{.}}', 'x'), 'x')
  t.equal(run('{{.Config.Env}}', data), '[A=1 B=2]')
  t.equal(formatValue(null), '<nil>')
})

t.test('functions and pipelines', async t => {
  t.equal(run('{{json .Names}}', data), '["a","b"]')
  t.equal(run('{{join .Names ","}}', data), 'a,b')
  t.equal(run('{{.ID | upper}}', data), 'ABC')
  t.equal(run('{{index .Labels "io.x"}}', data), 'y')
  t.equal(run('{{index .Names 1}}', data), 'b')
  t.equal(run('{{len .Names}}', data), '2')
  t.equal(run('{{printf "%s-%d|%5s|%-4s|" .ID .Size "r" "l"}}', data), 'abc-42|    r|l   |')
  t.equal(run('{{truncate .ID 2}}', data), 'ab')
  t.equal(run('{{split "a:b" ":"}}', data), '[a b]')
  t.equal(run('{{replace "aaa" "a" "b" -1}}', data), 'bbb')
  t.equal(run('{{contains .ID "b"}} {{hasPrefix .ID "a"}} {{hasSuffix .ID "x"}}', data), 'true true false')
  t.equal(run('{{lower "AB"}} {{title "ab cd"}} {{trim "  x "}}', data), 'ab Ab Cd x')
  t.equal(run('{{(index .Names 0) | upper}}', data), 'A')
  t.equal(run('{{eq .Size 42}} {{ne .ID "x"}} {{lt 1 2}} {{ge .Size 43}}', data), 'true true true false')
  t.equal(run('{{and .ID .Size}} {{or .Dangling "fallback"}} {{not .Dangling}}', data), '42 fallback true')
})

t.test('control structures, variables, trimming, comments', async t => {
  t.equal(run('{{if .Dangling}}yes{{else}}no{{end}}', data), 'no')
  t.equal(run('{{if .Dangling}}1{{else if .ID}}2{{else}}3{{end}}', data), '2')
  t.equal(run('{{range .Names}}[{{.}}]{{end}}', data), '[a][b]')
  t.equal(run('{{range $i, $n := .Names}}{{$i}}={{$n}} {{end}}', data), '0=a 1=b ')
  t.equal(run('{{range .Empty}}x{{else}}none{{end}}', data), 'none')
  t.equal(run('{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}', data), 'app:web;io.x:y;')
  t.equal(run('{{with .Config.User}}{{.}}{{else}}root{{end}}', data), 'root')
  t.equal(run('{{with .Nested}}{{.Inner.V}}{{end}}', data), '1')
  t.equal(run('{{$x := .ID}}{{$x}}{{$x = "z"}}{{$x}}', data), 'abcz')
  t.equal(run('{{range .Names}}{{$.ID}}{{end}}', data), 'abcabc')
  t.equal(run('a  {{- .ID -}}  b', data), 'aabcb')
  t.equal(run('x{{/* a comment */}}y', data), 'xy')
  t.equal(run('{{`raw\\n`}} {{"esc\\t"}}', data), 'raw\\n esc\t')
})

t.test('errors are one clear line with a position', async t => {
  t.throws(() => run('{{.Nope}}', data), {message: 'template: no field "Nope" (fields: ID, Names, Size, Dangling, Empty, Labels, Config, Nested) at position 2'})
  t.throws(() => compileTemplate('{{.ID'), {message: 'template: unclosed action at position 0'})
  t.throws(() => compileTemplate('{{if .ID}}x'), {message: 'template: unexpected EOF: missing {{end}}'})
  t.throws(() => run('{{nosuch .ID}}', data), {message: 'template: function "nosuch" not defined at position 2'})
  t.throws(() => compileTemplate('{{end}}'), {message: 'template: unexpected {{end}} at position 0'})
  t.throws(() => run('{{.ID.X}}', data), {message: "template: can't evaluate field X in type string at position 2"})
})
