/** Host-side helpers of the network tests: free ports, HTTP through curl, listening sockets. */
import {execFileSync} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {readFileSync, readdirSync} from 'node:fs'
import {createServer} from 'node:net'
import {networkInterfaces} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

/** A port free on every IPv4 address of the host right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '0.0.0.0', resolve))
  const address = server.address()
  await new Promise(resolve => server.close(resolve))
  return typeof address === 'object' && address ? address.port : 0
}

/** The body of GET url through curl (in the network namespace netns, if given), retried while the server comes up. */
export async function httpGet(url: string, options: {netns?: string; tries?: number} = {}): Promise<string> {
  const curl = ['curl', '-sS', '-g', '--max-time', '3', url]
  const command = options.netns ? ['ip', 'netns', 'exec', options.netns, ...curl] : curl
  let last = ''
  for (let i = 0; i < (options.tries ?? 30); i++) {
    try {
      return execFileSync(command[0]!, command.slice(1), {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim()
    } catch (err) {
      last = String((err as {stderr?: string}).stderr ?? err)
      await sleep(100)
    }
  }
  return `curl failed: ${last.trim()}`
}

/** `ss` lines of the TCP listeners and UDP sockets bound to port, with their processes. */
export function listeningSockets(port: number): string {
  return execFileSync('ss', ['-Hltnup', `sport = :${port}`], {encoding: 'utf8'}).trim()
}

/** The host's first IPv4 address that is not loopback. */
export function hostAddress(): string {
  const found = Object.values(networkInterfaces()).flat().find(a => a && a.family === 'IPv4' && !a.internal)?.address
  if (!found) throw new Error('this host has no IPv4 address besides loopback')
  return found
}

/** Sends "ping" datagrams to host:port every 200 ms until an answer comes, or "no answer" after 10 s. */
export async function udpAsk(host: string, port: number): Promise<string> {
  const socket = createSocket('udp4')
  try {
    return await new Promise<string>(resolve => {
      const timer = setInterval(() => socket.send('ping', port, host), 200)
      socket.on('message', msg => {
        clearInterval(timer)
        resolve(msg.toString())
      })
      setTimeout(() => {
        clearInterval(timer)
        resolve('no answer')
      }, 10_000)
    })
  } finally {
    socket.close()
  }
}

export interface Proc {
  pid: number
  ppid: number
  comm: string
  state: string
}

/** Every process on the host, from /proc. */
export function processes(): Proc[] {
  const out: Proc[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const [state, ppid] = stat.slice(close + 2).split(' ')
      out.push({pid: Number(name), ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close), state: state!})
    } catch {
      // gone meanwhile
    }
  }
  return out
}
