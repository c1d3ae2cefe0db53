import t from 'tap'
import {withAutoUpdateLabel} from '../../../src/kube/play.js'

t.test('withAutoUpdateLabel turns the autoupdate annotation into the label auto-update reads', async t => {
  t.same(withAutoUpdateLabel({annotations: {'io.containers.autoupdate': 'registry'}, labels: {a: '1'}}, 'web').labels, {a: '1', 'io.containers.autoupdate': 'registry'})
  t.same(withAutoUpdateLabel({annotations: {'io.containers.autoupdate': 'registry', 'io.containers.autoupdate/web': 'local'}}, 'web').labels, {'io.containers.autoupdate': 'local'}, 'the container\'s own annotation wins')
  t.same(withAutoUpdateLabel({annotations: {'io.containers.autoupdate/db': 'local'}}, 'web').labels, undefined, 'another container\'s is not this one\'s')
  const spec = {annotations: {}, labels: {a: '1'}}
  t.equal(withAutoUpdateLabel(spec, 'web'), spec, 'no annotation: unchanged')
})
