import t, {type Test} from 'tap'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {connect, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {InvalidArgumentError} from '../../../src/errors/index.js'
import {openSshAgents, parseSshFlag, parseSshFlags, startSshRelay} from '../../../src/build/ssh.js'

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ssh-test-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

/** Sends one message over a unix socket and resolves with everything the other side sends before closing. */
function exchange(path: string, message: Buffer): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = []
    const socket = connect(path, () => socket.write(message))
    socket.on('data', chunk => {
      chunks.push(chunk)
      const all = Buffer.concat(chunks)
      if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) {
        socket.end()
        done(all)
      }
    })
    socket.on('error', fail)
  })
}

/** SSH_AGENTC_REQUEST_IDENTITIES; the answer's comments. */
async function agentComments(path: string): Promise<string[]> {
  const reply = await exchange(path, Buffer.from([0, 0, 0, 1, 11]))
  if (reply[4] !== 12) throw new Error(`agent answered type ${reply[4]}`)
  const count = reply.readUInt32BE(5)
  const comments: string[] = []
  let at = 9
  for (let i = 0; i < count; i++) {
    at += 4 + reply.readUInt32BE(at)
    const length = reply.readUInt32BE(at)
    comments.push(reply.subarray(at + 4, at + 4 + length).toString())
    at += 4 + length
  }
  return comments
}

t.test('--ssh values', async t => {
  t.same(parseSshFlag('default'), {id: 'default', paths: []})
  t.same(parseSshFlag('github'), {id: 'github', paths: []}, 'a bare id takes $SSH_AUTH_SOCK')
  t.same(parseSshFlag('default=/run/user/1000/agent.sock'), {id: 'default', paths: ['/run/user/1000/agent.sock']})
  t.same(parseSshFlag('deploy=keys/a, keys/b'), {id: 'deploy', paths: ['keys/a', 'keys/b']}, 'several keys, blanks around commas dropped')
  t.same(parseSshFlag('my-id.2_x=k'), {id: 'my-id.2_x', paths: ['k']})
  for (const bad of ['', '=k', 'a b=k', 'a/b', 'id=', 'id=a,,b']) {
    t.throws(() => parseSshFlag(bad), InvalidArgumentError, JSON.stringify(bad))
  }
  t.throws(() => parseSshFlag('id=a,,b'), {message: '--ssh id=a,,b: an empty path'})
  t.same(parseSshFlags(['default', 'gh=k']).map(s => s.id), ['default', 'gh'])
  t.throws(() => parseSshFlags(['default', 'default=k']), {message: '--ssh default is given more than once'})
})

t.test('agents: a socket is used as it is, a missing SSH_AUTH_SOCK is explained', async t => {
  const dir = scratch(t)
  const path = join(dir, 'agent.sock')
  const server = createServer(() => {})
  await new Promise<void>(done => server.listen(path, done))
  t.teardown(() => server.close())
  const agents = await openSshAgents([{id: 'default', paths: []}, {id: 'other', paths: [path]}], {SSH_AUTH_SOCK: path})
  t.same([...agents.sockets], [['default', path], ['other', path]])
  await agents.close()
  await t.rejects(openSshAgents([{id: 'default', paths: []}], {}), {message: '--ssh default: SSH_AUTH_SOCK is not set, so there is no agent to forward'})
  await t.rejects(openSshAgents([{id: 'x', paths: [join(dir, 'none')]}], {}), {message: `--ssh x: ${join(dir, 'none')}: no such file or socket`})
  await t.rejects(openSshAgents([{id: 'x', paths: [dir]}], {}), {message: `--ssh x: ${dir} is neither an agent socket nor a key file`})
  writeFileSync(join(dir, 'k'), 'x')
  await t.rejects(openSshAgents([{id: 'x', paths: [path, join(dir, 'k')]}], {}), {message: /an agent socket must be given alone/})
})

t.test('agents: key files are loaded into an agent of our own, stopped by close', async t => {
  const dir = scratch(t)
  const key = join(dir, 'id')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'unit-key', '-f', key])
  const agents = await openSshAgents([{id: 'deploy', paths: [key]}], {})
  const socket = agents.sockets.get('deploy')!
  t.same(await agentComments(socket), ['unit-key'], 'the agent holds the key')
  await agents.close()
  t.throws(() => statSync(socket), {code: 'ENOENT'}, 'the agent and its directory are gone')

  writeFileSync(join(dir, 'notakey'), 'hello\n', {mode: 0o600})
  await t.rejects(openSshAgents([{id: 'deploy', paths: [join(dir, 'notakey')]}], {}), {message: /^--ssh deploy: loading .*notakey: /})
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', join(dir, 'locked')])
  await t.rejects(openSshAgents([{id: 'deploy', paths: [join(dir, 'locked')]}], {}), {
    message: `--ssh deploy: loading ${join(dir, 'locked')}: a key has a passphrase, and the build cannot ask for it`,
    hint: 'Add the key to your own agent (ssh-add KEY) and build with --ssh deploy',
  })
})

t.test('a relay forwards to the agent with the mount\'s owner and mode', async t => {
  const dir = scratch(t)
  const upstream = join(dir, 'up.sock')
  const server = createServer(socket => socket.on('data', data => socket.write(Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]))))
  await new Promise<void>(done => server.listen(upstream, done))
  t.teardown(() => server.close())
  const uid = process.getuid!()
  const gid = process.getgid!()
  const relay = await startSshRelay(upstream, {uid, gid, mode: 0o660})
  const stats = statSync(relay.path)
  t.ok(stats.isSocket())
  t.equal(stats.mode & 0o7777, 0o660)
  const reply = await exchange(relay.path, Buffer.from('ping'))
  t.equal(reply.subarray(4).toString(), 'ping', 'bytes pass both ways')
  await relay.close()
  t.throws(() => statSync(relay.path), {code: 'ENOENT'}, 'the relay socket is removed')
})
