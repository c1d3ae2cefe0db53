import t from 'tap'
import {parseArgv} from '../../../src/cli/argv.js'
import type {CommandSpec} from '../../../src/cli/command-spec.js'

const spec: CommandSpec = {
  id: 'run',
  aliases: [],
  strict: false,
  stopAtFirstArg: true,
  args: [{name: 'image', required: true}],
  flags: {
    interactive: {name: 'interactive', char: 'i', type: 'boolean'},
    tty: {name: 'tty', char: 't', type: 'boolean'},
    name: {name: 'name', type: 'option'},
    env: {name: 'env', char: 'e', type: 'option', multiple: true},
    'tls-verify': {name: 'tls-verify', type: 'boolean', allowNo: true},
    pull: {name: 'pull', type: 'option', options: ['always', 'missing', 'never']},
    'log-level': {name: 'log-level', type: 'option', default: 'warn'},
  },
}

t.test('pflag forms', async t => {
  const r = parseArgv(spec, ['-it', '--name=x', '-eA=1', '-e', 'B=2', '--tls-verify=false', 'img', 'sh', '-c', 'echo'], 'tspod run')
  t.same(r.flags, {interactive: true, tty: true, name: 'x', env: ['A=1', 'B=2'], 'tls-verify': false, 'log-level': 'warn'})
  t.same(r.args, ['img', 'sh', '-c', 'echo'])
})

t.test('--no- form, -- terminator', async t => {
  const r = parseArgv(spec, ['--no-tls-verify', '--', '-img'], 'tspod run')
  t.equal(r.flags['tls-verify'], false)
  t.same(r.args, ['-img'])
})

t.test('errors name the flag and point at --help', async t => {
  t.throws(() => parseArgv(spec, ['--bogus', 'img'], 'tspod run'), {message: 'unknown flag: --bogus', hint: "See 'tspod run --help'"})
  t.throws(() => parseArgv(spec, ['-x', 'img'], 'tspod run'), {message: "unknown shorthand flag: 'x' in -x"})
  t.throws(() => parseArgv(spec, ['--name'], 'tspod run'), {message: 'flag needs an argument: --name'})
  t.throws(() => parseArgv(spec, ['--pull=sometimes', 'img'], 'tspod run'), {message: 'invalid argument "sometimes" for "--pull" flag: must be one of always, missing, never'})
  t.throws(() => parseArgv(spec, ['--tls-verify=maybe', 'img'], 'tspod run'), {message: /strconv.ParseBool/})
  t.throws(() => parseArgv(spec, [], 'tspod run'), {message: 'tspod run requires at least 1 argument: missing IMAGE'})
  const strict: CommandSpec = {...spec, strict: true, stopAtFirstArg: false, args: []}
  t.throws(() => parseArgv(strict, ['x'], 'tspod ps'), {message: 'tspod ps takes no arguments, got "x"'})
})

t.test('flags may follow arguments unless the command stops at its first argument', async t => {
  const images: CommandSpec = {...spec, stopAtFirstArg: false, strict: true, args: [{name: 'image'}]}
  t.same(parseArgv(images, ['busybox', '-i'], 'tspod images').flags.interactive, true)
  t.same(parseArgv(spec, ['busybox', '-i'], 'tspod run').args, ['busybox', '-i'])
})
