/**
 * SSH agents for `RUN --mount=type=ssh`, given to the build with `--ssh`:
 * `default` or `ID` (the agent at $SSH_AUTH_SOCK), `ID=SOCKET` (another
 * agent), or `ID=KEY[,KEY…]` (private key files, loaded into an ssh-agent
 * of our own that lives as long as the build).
 *
 * A RUN never gets the agent's socket itself: each ssh mount gets a relay,
 * a socket of ours in a private temporary directory with the mount's
 * uid, gid and mode, that passes every connection through to the agent.
 * The relay is what lets a RUN as another user reach an agent that only
 * answers its owner (ssh-agent checks the peer's uid), and keeps the
 * agent's directory out of reach of the container.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, chownSync, mkdtempSync, statSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {connect, createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {BuildError, InvalidArgumentError} from '../errors/index.js'

export interface SshSource {
  id: string
  /** Agent socket or key files as given, relative to the working directory; empty for $SSH_AUTH_SOCK. */
  paths: string[]
}

const ID = /^[A-Za-z0-9_.-]+$/

/** One `--ssh` value: `default`, `ID`, or `ID=PATH[,PATH…]`. */
export function parseSshFlag(value: string): SshSource {
  const eq = value.indexOf('=')
  const id = (eq === -1 ? value : value.slice(0, eq)).trim()
  if (!ID.test(id)) {
    throw new InvalidArgumentError(`--ssh ${value}: "${id}" is not an id`, {hint: 'Use --ssh default, --ssh ID=SOCKET or --ssh ID=KEYFILE[,KEYFILE]'})
  }
  if (eq === -1) return {id, paths: []}
  const paths = value.slice(eq + 1).split(',').map(p => p.trim())
  if (paths.some(p => p === '')) {
    throw new InvalidArgumentError(`--ssh ${value}: an empty path`, {hint: 'Give an agent socket or key files after =, separated by commas'})
  }
  return {id, paths}
}

/** All --ssh values; an id given twice is a mistake, not an override. */
export function parseSshFlags(values: string[]): SshSource[] {
  const sources = values.map(parseSshFlag)
  const seen = new Set<string>()
  for (const source of sources) {
    if (seen.has(source.id)) throw new InvalidArgumentError(`--ssh ${source.id} is given more than once`, {hint: 'Give each id once; list several keys as ID=KEY1,KEY2'})
    seen.add(source.id)
  }
  return sources
}

export interface SshAgents {
  /** id → the socket of the agent that answers for it. */
  sockets: Map<string, string>
  /** Stop the agents started for key files. */
  close: () => Promise<void>
}

/**
 * Find or start the agent behind each source. A socket is used as it is;
 * key files go to one ssh-agent per id, started here.
 */
export async function openSshAgents(sources: SshSource[], env: NodeJS.ProcessEnv = process.env): Promise<SshAgents> {
  const sockets = new Map<string, string>()
  const started: StartedAgent[] = []
  const close = async () => {
    for (const agent of started.splice(0)) await agent.stop()
  }
  try {
    for (const source of sources) {
      let paths = source.paths
      if (paths.length === 0) {
        const sock = env.SSH_AUTH_SOCK
        if (!sock) {
          throw new InvalidArgumentError(`--ssh ${source.id}: SSH_AUTH_SOCK is not set, so there is no agent to forward`, {
            hint: `Start an agent (eval "$(ssh-agent)" and ssh-add), or give a key: --ssh ${source.id}=~/.ssh/id_ed25519`,
          })
        }
        paths = [sock]
      }
      const kinds = paths.map(p => kindOf(resolve(p), source))
      if (kinds.includes('socket')) {
        if (paths.length > 1) throw new InvalidArgumentError(`--ssh ${source.id}=${paths.join(',')}: an agent socket must be given alone`, {hint: 'Give one socket, or only key files'})
        sockets.set(source.id, resolve(paths[0]!))
        continue
      }
      const agent = await startAgent(paths.map(p => resolve(p)), source.id)
      started.push(agent)
      sockets.set(source.id, agent.socket)
    }
  } catch (err) {
    await close()
    throw err
  }
  return {sockets, close}
}

function kindOf(path: string, source: SshSource): 'socket' | 'file' {
  let stats
  try {
    stats = statSync(path)
  } catch (err) {
    throw new InvalidArgumentError(`--ssh ${source.id}: ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or socket' : (err as Error).message}`)
  }
  if (stats.isSocket()) return 'socket'
  if (stats.isFile()) return 'file'
  throw new InvalidArgumentError(`--ssh ${source.id}: ${path} is neither an agent socket nor a key file`)
}

interface StartedAgent {
  socket: string
  stop: () => Promise<void>
}

/**
 * An ssh-agent in the foreground (-D), on a socket in a private directory,
 * holding the keys. A shell around it kills it when its stdin, a pipe from
 * this process, ends: at stop, and also when the build is killed with
 * SIGKILL, so no agent holding the keys outlives the build. ssh-add runs in
 * a session of its own with no askpass, so a key with a passphrase fails
 * instead of prompting in the middle of the build.
 */
async function startAgent(keys: string[], id: string): Promise<StartedAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ssh-'))
  const socket = join(dir, 'agent')
  let child: ChildProcess | undefined
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(done => child!.once('exit', done))
      child.stdin!.end()
      await exited
    }
    await rm(dir, {recursive: true, force: true})
  }
  try {
    // A background list reads /dev/null unless told otherwise: the pipe goes to it as fd 3.
    const script = 'exec 3<&0; ssh-agent -D -a "$1" </dev/null & agent=$!; (read -r _ <&3; kill $agent 2>/dev/null) & wait $agent'
    child = spawn('sh', ['-c', script, 'sh', socket], {stdio: ['pipe', 'pipe', 'pipe']})
    await new Promise<void>((done, fail) => {
      let stderr = ''
      child!.stderr!.setEncoding('utf8').on('data', chunk => (stderr += chunk))
      // It prints its environment lines once the socket is listening.
      child!.stdout!.once('data', () => done())
      child!.once('error', err => fail(agentError(id, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ssh-agent is not installed' : err.message)))
      child!.once('exit', code => fail(agentError(id, code === 127 ? 'ssh-agent is not installed' : `ssh-agent exited: ${stderr.trim() || 'no message'}`)))
    })
    child.stdout!.resume()
    await new Promise<void>((done, fail) => {
      const add = spawn('ssh-add', ['-q', ...keys], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
        env: {...process.env, SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never', DISPLAY: ''},
      })
      let stderr = ''
      add.stderr!.setEncoding('utf8').on('data', chunk => (stderr += chunk))
      add.once('error', err => fail(agentError(id, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ssh-add is not installed' : err.message)))
      add.once('exit', code => {
        if (code === 0) return done()
        if (/passphrase/i.test(stderr)) {
          fail(new BuildError(`--ssh ${id}: loading ${keys.join(', ')}: a key has a passphrase, and the build cannot ask for it`, {hint: `Add the key to your own agent (ssh-add KEY) and build with --ssh ${id}`}))
          return
        }
        const cause = stderr.trim().split('\n').pop() || `ssh-add exited with ${code}`
        fail(new BuildError(`--ssh ${id}: loading ${keys.join(', ')}: ${cause}`, {hint: 'Give private key files (as ssh-keygen writes them) or one agent socket'}))
      })
    })
  } catch (err) {
    await stop()
    throw err
  }
  return {socket, stop}
}

function agentError(id: string, cause: string): BuildError {
  return new BuildError(`--ssh ${id}: starting an agent for the keys: ${cause}`, {hint: 'Install openssh-client (apt-get install openssh-client)'})
}

export interface SshRelay {
  /** The relay's socket, to be bound into the RUN container. */
  path: string
  close: () => Promise<void>
}

/**
 * A socket of ours, owned by uid:gid with `mode`, that forwards each
 * connection to the agent at `upstream`.
 */
export async function startSshRelay(upstream: string, owner: {uid: number; gid: number; mode: number}): Promise<SshRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ssh-relay-'))
  const path = join(dir, 'agent')
  const open = new Set<Socket>()
  const server = createServer(client => {
    const agent = connect(upstream)
    open.add(client).add(agent)
    const end = () => {
      client.destroy()
      agent.destroy()
      open.delete(client)
      open.delete(agent)
    }
    client.on('error', end).on('close', end)
    agent.on('error', end).on('close', end)
    client.pipe(agent)
    agent.pipe(client)
  })
  const close = async () => {
    for (const socket of open) socket.destroy()
    await new Promise<void>(done => server.close(() => done()))
    await rm(dir, {recursive: true, force: true})
  }
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail)
      server.listen(path, () => done())
    })
    chownSync(path, owner.uid, owner.gid)
    chmodSync(path, owner.mode)
  } catch (err) {
    await close().catch(() => {})
    throw new BuildError(`forwarding the ssh agent: ${(err as Error).message}`)
  }
  return {path, close}
}
