import t from 'tap'
import {parseKubeDocuments} from '../../../src/kube/documents.js'

t.test('every non-empty document, with positions of its nodes', async t => {
  const docs = parseKubeDocuments('---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n    image: busybox\n---\n---\nkind: ConfigMap\n', 'f.yaml')
  t.equal(docs.length, 2)
  t.equal(docs[0].value.kind, 'Pod')
  t.equal(docs[0].locate(['spec', 'containers', 0, 'image']), 'f.yaml:9:5')
  t.equal(docs[0].locate(['metadata', 'name']), 'f.yaml:5:3')
  // A path that goes past what exists points at the deepest node found.
  t.equal(docs[0].locate(['spec', 'nothing', 'here']), 'f.yaml:6:1')
  t.equal(docs[1].locate(['kind']), 'f.yaml:12:1')
})

t.test('malformed YAML is an error at file:line:column', async t => {
  t.throws(() => parseKubeDocuments('kind: Pod\nmetadata:\n  name: [a, b\n', 'bad.yaml'), {message: /^bad\.yaml:\d+:\d+: /})
  t.throws(() => parseKubeDocuments('kind: Pod\nspec:\n  containers:\n  - name: a\n   image: b\n', 'bad.yaml'), {message: /^bad\.yaml:5:\d+: /})
  t.throws(() => parseKubeDocuments('kind: Pod\nkind: Job\n', 'dup.yaml'), {message: /^dup\.yaml:2:1: .*[Mm]ap keys must be unique/})
  t.throws(() => parseKubeDocuments('- a\n- b\n', 'list.yaml'), {message: 'list.yaml:1:1: a Kubernetes object must be a mapping with apiVersion, kind and metadata'})
})

t.test('an empty stream has no documents', async t => {
  t.same(parseKubeDocuments('', 'empty.yaml'), [])
  t.same(parseKubeDocuments('# only a comment\n', 'c.yaml'), [])
})
