import t from 'tap'
import {alignColumns, headerFor, renderObject, renderRows} from '../../../src/cli/format.js'

const rows = [
  {ID: 'aaa', Repository: 'localhost/busybox', Tag: 'latest', CreatedAt: 'x'},
  {ID: 'bb', Repository: 'quay.io/x/y', Tag: '1', CreatedAt: 'y'},
]
const columns = [{header: 'REPOSITORY', field: 'Repository'}, {header: 'TAG', field: 'Tag'}, {header: 'IMAGE ID', field: 'ID'}]

t.test('default table is aligned like tabwriter with padding 3', async t => {
  t.equal(renderRows(rows, {defaultColumns: columns}),
    'REPOSITORY          TAG      IMAGE ID\n' +
    'localhost/busybox   latest   aaa\n' +
    'quay.io/x/y         1        bb\n')
  t.equal(renderRows([], {defaultColumns: columns}), 'REPOSITORY   TAG   IMAGE ID\n', 'header only')
  t.equal(renderRows(rows, {defaultColumns: columns, noHeading: true}).split('\n')[0], 'localhost/busybox   latest   aaa')
})

t.test('table templates derive headers', async t => {
  t.equal(renderRows(rows, {format: 'table {{.ID}}\\t{{.CreatedAt}}', defaultColumns: columns}), 'IMAGE ID   CREATED AT\naaa        x\nbb         y\n')
  t.equal(headerFor('CreatedAt'), 'CREATED AT')
  t.equal(headerFor('ID'), 'ID')
})

t.test('json, {{json .}} and plain templates', async t => {
  t.same(JSON.parse(renderRows(rows, {format: 'json', defaultColumns: columns})), rows)
  t.equal(renderRows(rows.slice(0, 1), {format: '{{json .}}', defaultColumns: columns}), JSON.stringify(rows[0]) + '\n')
  t.equal(renderRows(rows, {format: '{{.ID}}\\t{{.Tag}}', defaultColumns: columns}), 'aaa\tlatest\nbb\t1\n')
})

t.test('renderObject', async t => {
  t.equal(renderObject([{A: 1}]), '[\n    {\n        "A": 1\n    }\n]\n')
  t.equal(renderObject([{A: 1}, {A: 2}], '{{.A}}'), '1\n2\n')
  t.equal(renderObject({A: 3}, '{{.A}}', {single: true}), '3\n')
})

t.test('alignColumns does not pad the last cell', async t => {
  t.equal(alignColumns([['a', 'b'], ['ccc', '']]), 'a     b\nccc')
})
