/**
 * The rootless network namespace, as Podman 4 has it with netavark: one
 * network namespace per user, owned by tspod's user namespace, in which
 * netavark makes the bridges and veth pairs of user-defined networks and
 * aardvark-dns answers container names. Its only way out is slirp4netns
 * (tap0, NAT to the host's network).
 *
 * What holds it lives under RUNROOT/networks/rootless-netns:
 *   holder.pid   "PID START" of a `sleep` that unshare(1) put in the namespace
 *   slirp.pid    "PID START" of the slirp4netns attached to it
 *   netavark/    netavark's --config: its lock and aardvark-dns's configs
 * Every use checks both processes (alive, same start time, and for the holder
 * our very user namespace) and rebuilds what is stale: a holder that is gone
 * takes its slirp4netns and aardvark-dns with it, and the next use makes a
 * fresh namespace. The caller re-attaches running containers when told that
 * a rebuild happened.
 *
 * Node cannot enter namespaces, so each use is one small shell script run in
 * tspod's user namespace through the tspod-ns helper.
 */
import {existsSync} from 'node:fs'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {TspodError} from '../errors/index.js'
import {runInNamespace} from '../rootless/ns-exec.js'
import {debug} from '../util/log.js'

/** What netavark reads on stdin for setup and teardown. */
export interface NetavarkOptions {
  container_id: string
  container_name: string
  port_mappings: null
  networks: Record<string, PerNetworkOptions>
  network_info: Record<string, unknown>
}

export interface PerNetworkOptions {
  static_ips: string[]
  aliases: string[]
  interface_name: string
  static_mac?: string
}

/** What netavark setup prints for each network. */
export interface NetavarkStatus {
  dns_search_domains?: string[]
  dns_server_ips?: string[]
  interfaces?: Record<string, {mac_address: string; subnets?: Array<{ipnet: string; gateway?: string}>}>
}

export interface NetavarkRun {
  /** True when the rootless namespace was (re)made: containers attached before are cut off. */
  rebuilt: boolean
  status: Record<string, NetavarkStatus>
}

export interface NetworkTools {
  netavark: string
  aardvark: string
  slirp4netns: string
}

const TOOL_DIRS = ['/usr/local/libexec/podman', '/usr/local/lib/podman', '/usr/libexec/podman', '/usr/lib/podman']

export function networkRunDir(runRoot: string): string {
  return join(runRoot, 'networks')
}

export function rootlessNetnsDir(runRoot: string): string {
  return join(networkRunDir(runRoot), 'rootless-netns')
}

/** netavark, aardvark-dns and slirp4netns, found where Podman's packages put them. */
export function findNetworkTools(): NetworkTools {
  const find = (name: string, dirs: string[]) => dirs.map(d => join(d, name)).find(p => existsSync(p))
  const netavark = find('netavark', TOOL_DIRS)
  const aardvark = find('aardvark-dns', TOOL_DIRS)
  const slirp4netns = find('slirp4netns', ['/usr/local/bin', '/usr/bin', '/bin'])
  if (!netavark) throw new TspodError(`user-defined networks: netavark not found in ${TOOL_DIRS.join(', ')}`, {hint: 'as root, run: apt-get install netavark (Fedora: dnf install netavark)'})
  if (!aardvark) throw new TspodError(`user-defined networks: aardvark-dns not found in ${TOOL_DIRS.join(', ')}`, {hint: 'as root, run: apt-get install aardvark-dns (Fedora: dnf install aardvark-dns)'})
  if (!slirp4netns) throw new TspodError('user-defined networks: slirp4netns not found in /usr/local/bin, /usr/bin, /bin', {hint: 'as root, run: apt-get install slirp4netns'})
  return {netavark, aardvark, slirp4netns}
}

// $1 run dir, $2 action (ensure|setup|teardown|stop), $3 container netns path,
// $4 options file, $5 netavark, $6 aardvark-dns, $7 slirp4netns, $8 "remove"
// to unmount and delete the container's netns after teardown.
const SCRIPT = String.raw`
set -u
dir=$1/rootless-netns action=$2 netns=$3 opts=$4 netavark=$5 aardvark=$6 slirp=$7 remove=$8
PATH=$PATH:/usr/sbin:/sbin
export PATH
fail() { echo "$*" >&2; exit 1; }
mkdir -p "$dir/netavark" || exit 1
self_user=$(readlink /proc/self/ns/user)
self_net=$(readlink /proc/self/ns/net)
start_of() {
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  set -- ${"$"}{st##*) }
  [ "$1" != Z ] && [ "$1" != X ] || return 1
  shift 19
  echo "$1"
}
# "PID START" in $1 names the same live process (pid is set for the caller).
same_process() {
  [ -s "$1" ] && read -r pid start < "$1" && [ -n "$pid" ] && [ "$(start_of "$pid")" = "$start" ]
}
# ...and it lives in our user namespace, so we can join what it holds.
joinable() { same_process "$1" && [ "$(readlink "/proc/$pid/ns/user")" = "$self_user" ]; }
record() { echo "$1 $(start_of "$1")" > "$2.tmp" && mv "$2.tmp" "$2"; }
stop() { if same_process "$1"; then kill -9 "$pid"; fi; rm -f "$1"; }
drop_netns() { if [ "$remove" = remove ]; then umount "$netns" 2>/dev/null; rm -f "$netns"; fi; }
kill_aardvark() {
  apid=$(cat "$dir/netavark/aardvark-dns/aardvark.pid" 2>/dev/null)
  if [ -n "$apid" ] && [ "$(cat "/proc/$apid/comm" 2>/dev/null)" = aardvark-dns ]; then kill -9 "$apid"; fi
}
if [ "$action" = stop ]; then
  stop "$dir/holder.pid"; stop "$dir/slirp.pid"; kill_aardvark; rm -rf "$dir/netavark"
  exit 0
fi
if ! joinable "$dir/holder.pid"; then
  # Nothing to undo in a namespace that is gone; the next setup makes a new one.
  [ "$action" = teardown ] && { drop_netns; exit 0; }
  stop "$dir/holder.pid"
  stop "$dir/slirp.pid"
  kill_aardvark
  rm -rf "$dir/netavark" && mkdir -p "$dir/netavark" || exit 1
  setsid unshare --net -- sleep infinity </dev/null >/dev/null 2>&1 &
  hpid=$!
  n=0
  while [ "$(readlink "/proc/$hpid/ns/net" 2>/dev/null)" = "$self_net" ] && [ $n -lt 500 ]; do n=$((n + 1)); sleep 0.01; done
  record "$hpid" "$dir/holder.pid"
  joinable "$dir/holder.pid" && [ "$(readlink "/proc/$hpid/ns/net")" != "$self_net" ] || fail "unshare --net: the namespace holder did not start"
  echo rebuilt
fi
read -r hpid hstart < "$dir/holder.pid"
if [ "$action" != teardown ] && ! same_process "$dir/slirp.pid"; then
  rm -f "$dir/slirp.ready"
  setsid "$slirp" --configure --mtu=65520 --disable-host-loopback --ready-fd=5 "$hpid" tap0 5>"$dir/slirp.ready" </dev/null >"$dir/slirp.log" 2>&1 &
  spid=$!
  n=0
  while [ ! -s "$dir/slirp.ready" ] && [ $n -lt 1000 ]; do
    [ -n "$(start_of "$spid")" ] || fail "slirp4netns: $(tail -n 1 "$dir/slirp.log")"
    n=$((n + 1)); sleep 0.01
  done
  [ -s "$dir/slirp.ready" ] || { kill -9 "$spid"; fail "slirp4netns: not ready after 10 s"; }
  record "$spid" "$dir/slirp.pid"
fi
case $action in
ensure) exit 0 ;;
setup)
  if ! mountpoint -q "$netns"; then
    mkdir -p "$(dirname "$netns")" && : > "$netns" && unshare --net="$netns" true || fail "creating the network namespace $netns failed"
  fi ;;
teardown)
  # A namespace that is gone went with its mount namespace; a rebuild wiped its state too.
  mountpoint -q "$netns" || { rm -f "$netns"; exit 0; } ;;
*) fail "unknown action $action" ;;
esac
nsenter --net="/proc/$hpid/ns/net" "$netavark" --config "$dir/netavark" --rootless=true --aardvark-binary "$aardvark" "$action" "$netns" < "$opts" > "$opts.out" 2> "$opts.err"
rc=$?
[ "$action" = teardown ] && drop_netns
exit $rc
`

let counter = 0

/**
 * Makes sure the rootless network namespace is up, then runs `netavark
 * setup|teardown NETNS` in it with `options` on stdin. setup creates the
 * container's namespace (a bind-mounted nsfs at `netns`) when it does not
 * exist; teardown with `removeNetns` unmounts and deletes it afterwards.
 * teardown never rebuilds: what was in a namespace that is gone went with it.
 * `stop` ends the holder, slirp4netns and aardvark-dns and forgets their state.
 */
export async function runNetavark(runRoot: string, action: 'ensure' | 'setup' | 'teardown' | 'stop', target?: {netns: string; options: NetavarkOptions; removeNetns?: boolean}): Promise<NetavarkRun> {
  const tools = action === 'stop' ? {netavark: '', aardvark: '', slirp4netns: ''} : findNetworkTools()
  const dir = networkRunDir(runRoot)
  await mkdir(dir, {recursive: true, mode: 0o700})
  counter += 1
  const optsFile = join(dir, `.netavark-${process.pid}-${counter}.json`)
  if (target) await writeFile(optsFile, JSON.stringify(target.options))
  try {
    debug(`netavark ${action}${target ? ` ${target.netns}` : ''}`)
    const result = await runInNamespace(runRoot, [
      'sh', '-c', SCRIPT, 'sh', runRoot + '/networks', action, target?.netns ?? '', optsFile,
      tools.netavark, tools.aardvark, tools.slirp4netns, target?.removeNetns ? 'remove' : '',
    ])
    const rebuilt = result.stdout.split('\n').includes('rebuilt')
    if (rebuilt) debug('the rootless network namespace was (re)built')
    const out = target ? await readFile(`${optsFile}.out`, 'utf8').catch(() => '') : ''
    if (result.code !== 0) {
      const err = target ? await readFile(`${optsFile}.err`, 'utf8').catch(() => '') : ''
      throw new TspodError(`netavark ${action}: ${netavarkError(out, err || result.stderr)}`, {hint: 'Run with --log-level=debug for details; tspod network reload re-applies the networks of running containers'})
    }
    return {rebuilt, status: out.trim().startsWith('{') ? (JSON.parse(out) as Record<string, NetavarkStatus>) : {}}
  } finally {
    await Promise.all([optsFile, `${optsFile}.out`, `${optsFile}.err`].map(f => rm(f, {force: true})))
  }
}

/** netavark prints {"error": "..."} on failure; our script prints one plain line. */
function netavarkError(stdout: string, stderr: string): string {
  for (const text of [stdout, stderr]) {
    for (const line of text.split('\n')) {
      if (!line.trim().startsWith('{')) continue
      try {
        const parsed = JSON.parse(line) as {error?: string}
        if (parsed.error) return parsed.error
      } catch {
        continue
      }
    }
  }
  const lines = stderr.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('failed to connect to syslog'))
  return lines[lines.length - 1] ?? 'failed'
}

/** Ends the rootless network namespace and its helpers (for system reset; the next use makes a new one). */
export async function stopRootlessNetns(runRoot: string): Promise<void> {
  if (existsSync(rootlessNetnsDir(runRoot))) await runNetavark(runRoot, 'stop')
}
