import t from 'tap'
import {lookupPolicy, parseCreateCommand, systemdUnitOf} from '../../../src/container/auto-update.js'
import type {CommandSpec} from '../../../src/cli/command-spec.js'

const runSpec: CommandSpec = {
  id: 'container:run',
  aliases: ['run'],
  strict: false,
  stopAtFirstArg: true,
  args: [{name: 'image', required: true}, {name: 'command'}],
  flags: {
    root: {name: 'root', type: 'option'},
    runroot: {name: 'runroot', type: 'option'},
    runtime: {name: 'runtime', type: 'option'},
    detach: {name: 'detach', char: 'd', type: 'boolean'},
    name: {name: 'name', type: 'option'},
    label: {name: 'label', char: 'l', type: 'option', multiple: true},
    cidfile: {name: 'cidfile', type: 'option'},
  },
}

t.test('lookupPolicy: Podman\'s names, image as the old name of registry', async t => {
  t.equal(lookupPolicy(undefined), undefined)
  t.equal(lookupPolicy(''), undefined)
  t.equal(lookupPolicy('disabled'), undefined)
  t.equal(lookupPolicy('registry'), 'registry')
  t.equal(lookupPolicy('image'), 'registry')
  t.equal(lookupPolicy('local'), 'local')
  t.throws(() => lookupPolicy('sometimes'), {message: 'invalid auto-update policy "sometimes": valid policies are "disabled", "image", "local", "registry"'})
})

t.test('systemdUnitOf: the label first, then the environment', async t => {
  t.equal(systemdUnitOf({labels: {PODMAN_SYSTEMD_UNIT: 'a.service'}, env: ['PODMAN_SYSTEMD_UNIT=b.service']}), 'a.service')
  t.equal(systemdUnitOf({labels: {}, env: ['PATH=/bin', 'PODMAN_SYSTEMD_UNIT=b.service']}), 'b.service')
  t.equal(systemdUnitOf({labels: {}, env: ['PODMAN_SYSTEMD_UNIT=']}), undefined)
  t.equal(systemdUnitOf({labels: {}, env: []}), undefined)
})

t.test('parseCreateCommand: globals, `container run`, create, and the image', async t => {
  const unit = parseCreateCommand(['tspod', '--root', '/r', 'run', '--cidfile=/run/x.ctr-id', '-d', '--name', 'web', '-l', 'a=b', 'quay.io/x/y:1', 'sleep', '-d'], runSpec)
  t.equal(unit.image, 'quay.io/x/y:1')
  t.same(unit.parsed.args, ['quay.io/x/y:1', 'sleep', '-d'], 'flags after the image belong to the command')
  t.match(unit.parsed.flags, {root: '/r', cidfile: '/run/x.ctr-id', detach: true, name: 'web', label: ['a=b']})
  t.same(unit.argv[0], '--root', 'argv is the command line after tspod')
  t.equal(parseCreateCommand(['/usr/bin/tspod', 'container', 'create', 'img'], runSpec).image, 'img')
  t.throws(() => parseCreateCommand(['tspod', 'kube', 'play', 'x.yaml'], runSpec), {message: 'the create command "tspod kube play x.yaml" is not a run or create command'})
  t.throws(() => parseCreateCommand(['tspod', 'run', '-d'], runSpec), /requires at least 1 argument/)
})
