#!/usr/bin/env bash
# Times tspod and Podman side by side on this machine, both rootless as the
# same unprivileged user, each with a fresh store of its own under bench/work,
# and writes the ratios (tspod time / Podman time) with the machine's
# description to bench/RESULTS.md. See bench/README.md for what each scenario
# measures.
#
# Usage: bash bench/run.sh [--quick] [--keep] [SCENARIO...]
#   --quick     fewer runs (a smoke test of the benchmark, not a result)
#   --keep      leave both stores in bench/work after the run, to look into
#   SCENARIO    run only these (default all): version images inspect import
#               run run-net publish throughput lifecycle ps memory pull pull5
#               push build-cached build-nocache build-copy build-multistage
# Environment:
#   TSPOD_USER       the user both tools run as when started as root (default tspod)
#   TSPOD_FIXTURES   fixture cache holding busybox-rootfs.tar and debian-bookworm-rootfs.tar
#                    (default /var/cache/tspod-fixtures)
#   STORAGE_DRIVER   storage driver for both tools (default overlay; vfs if Podman cannot use overlay)
set -euo pipefail

SCENARIOS=(version images inspect import run run-net publish throughput lifecycle ps memory pull pull5 push build-cached
  build-nocache build-copy build-multistage)

cd "$(dirname "$0")/.."
repo=$(pwd -P)
work=$repo/bench/work
results=$work/results

say() { printf '==> %s\n' "$*"; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

quick=0
keep=0
selected=()
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) die "unknown option: $arg (try --help)" ;;
    *)
      [[ " ${SCENARIOS[*]} " == *" $arg "* ]] || die "unknown scenario: $arg (scenarios: ${SCENARIOS[*]})"
      selected+=("$arg")
      ;;
  esac
done
((${#selected[@]})) || selected=("${SCENARIOS[@]}")

# Root runs nothing itself: both tools must run rootless as the same user, so
# the script starts itself again as that user and afterwards copies the
# report to where the user may not write.
if [ "$(id -u)" -eq 0 ]; then
  user=${TSPOD_USER:-tspod}
  uid=$(id -u "$user" 2>/dev/null) || die "no user $user: run scripts/setup.sh as root first, or set TSPOD_USER"
  home=$(getent passwd "$user" | cut -d: -f6)
  [ -d "/run/user/$uid" ] || die "/run/user/$uid is missing: run scripts/setup.sh as root first"
  runuser -u "$user" -- test -r "$repo/bench/run.sh" ||
    die "$user cannot read $repo/bench/run.sh: run scripts/setup.sh as root, which makes the repo readable"
  install -d -o "$user" -g "$(id -g "$user")" "$work"
  user_env=(HOME="$home" USER="$user" PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid"
    BENCH_COMMAND="bash bench/run.sh${*:+ $*}")
  [ -n "${TSPOD_FIXTURES:-}" ] && user_env+=(TSPOD_FIXTURES="$TSPOD_FIXTURES")
  [ -n "${STORAGE_DRIVER:-}" ] && user_env+=(STORAGE_DRIVER="$STORAGE_DRIVER")
  runuser -u "$user" -- env -i "${user_env[@]}" bash "$repo/bench/run.sh" "$@"
  cp "$results/RESULTS.md" "$repo/bench/RESULTS.md"
  say "wrote bench/RESULTS.md"
  exit 0
fi

[[ $work =~ [[:space:]] ]] && die "the repo path must not contain white space: $repo"
if ! mkdir -p "$work" 2>/dev/null || [ ! -w "$work" ]; then
  die "cannot write $work: run as root, or as the user who owns it"
fi
for tool in hyperfine podman node curl; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup.sh as root"
done

if ((quick)); then
  fast_runs=(--runs 5 --warmup 1)
  slow_runs=(--runs 2 --warmup 1)
else
  fast_runs=(--runs 30 --warmup 3)
  slow_runs=(--runs 5 --warmup 1)
fi
fixtures=${TSPOD_FIXTURES:-/var/cache/tspod-fixtures}
big_rootfs=$work/rootfs-200mb.tar
# Sum of the file contents in the big rootfs; with tar headers the file is a little larger.
BIG_ROOTFS_BYTES=$((200 * 1000 * 1000))

# The tools' command lines up to the subcommand; set by choose_driver.
tspod_cli=()
podman_cli=()
# Podman's global flags for its OCI runtime, put before the subcommand in the
# container scenarios; set by choose_podman_runtime.
podman_runtime=()
# Why a tool cannot run at all in this run, and why it cannot run the current scenario.
declare -A unavailable=() blocked=()

rm -rf "$results"
mkdir -p "$results"
: >"$results/scenarios.tsv"
# One key=value line each for report.mjs; a value's line breaks become " / ".
meta() { printf '%s=%s\n' "$1" "$(sed -z 's/\n*$//; s/\n/ \/ /g' <<<"$2")" >>"$results/meta.txt"; }
: >"$results/meta.txt"

# The line of a failed command's output that says what went wrong: the first
# that mentions an error, else the last one.
explain_failure() {
  local line
  line=$(grep -m 1 -i 'error' <<<"$1") || line=$(grep -v '^[[:space:]]*$' <<<"$1" | tail -n 1) || true
  printf '%s' "${line:-no output}"
}

# Runs a tool untimed with its output kept; on failure writes to FILE the
# command, its exit status and the line that explains it, and returns 1.
try_tool() {
  local file=$1 tool=$2
  shift 2
  local out status=0 shown="$tool${*:+ $*}"
  [ -z "${wrap:-}" ] || shown="sh -c '$wrap' sh $shown"
  out=$(run_tool "$tool" "$@" 2>&1) || status=$?
  if ((status)); then
    printf '`%s` exited %d: %s\n' "$shown" "$status" "$(explain_failure "$out")" >"$file"
    return 1
  fi
}

# The words of `TOOL ARGS...`: with the tool's store flags, or without them
# in a scenario that asked for --bare; as the arguments of its shell script
# in a scenario that asked for --wrap.
tool_words() {
  local -n argv=${1}_cli
  words=()
  [ -z "${wrap:-}" ] || words=(sh -c "$wrap" sh)
  if ((${bare:-0})); then
    words+=("${argv[0]}" "${@:2}")
  else
    words+=("${argv[@]}" "${@:2}")
  fi
}

run_tool() {
  local words
  tool_words "$@"
  "${words[@]}"
}

# The command line of `TOOL ARGS...` as one string that hyperfine splits back into these words.
quote_tool() {
  local words
  tool_words "$@"
  printf '%q ' "${words[@]}"
}

# Removes what a store left behind; files owned by subordinate ids need the user namespace.
remove_store() {
  local dir=$1
  [ -e "$dir" ] || return 0
  rm -rf "$dir" 2>/dev/null || podman unshare rm -rf "$dir"
}

reset_stores() {
  "${podman_cli[@]}" "${podman_runtime[@]}" system reset -f >/dev/null 2>&1 || true
  if [ -z "${unavailable[tspod]:-}" ]; then
    "${tspod_cli[@]}" system reset -f >/dev/null 2>&1 || true
  fi
  remove_store "$work/podman"
  remove_store "$work/tspod"
}

# Podman 4.3 rootless uses the kernel's overlayfs where the kernel allows it
# (5.11+); elsewhere both tools get vfs, so that they store layers alike.
choose_driver() {
  local driver=${STORAGE_DRIVER:-overlay} native=""
  podman_cli=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver "$driver")
  if [ "$driver" = overlay ]; then
    native=$("${podman_cli[@]}" info --format '{{index .Store.GraphStatus "Native Overlay Diff"}}' 2>/dev/null) || native=""
    if [ "$native" != true ]; then
      say "Podman cannot use the kernel's overlayfs rootless here: both tools use vfs"
      remove_store "$work/podman"
      driver=vfs
      podman_cli=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs)
    fi
  fi
  tspod_cli=("$repo/bin/tspod" --root "$work/tspod/root" --runroot "$work/tspod/run" --storage-driver "$driver")
  storage_driver=$driver
}

describe_machine() {
  local cpu mem_kib os cgroup tspod_driver podman_driver commit
  cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
  os=$(. /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-unknown}")
  case $(stat -fc %T /sys/fs/cgroup) in
    cgroup2fs) cgroup=v2 ;;
    *) cgroup="v1 (or hybrid)" ;;
  esac
  local podman_template='{{.Store.GraphDriverName}}' tspod_templates=('{{.Store.GraphDriverName}}' '{{.store.graphDriverName}}')
  if [ "$storage_driver" = overlay ]; then
    podman_template+=' (native overlay diff: {{index .Store.GraphStatus "Native Overlay Diff"}})'
    tspod_templates[0]+=' (mounted by: {{.Store.GraphOptions.MountProgram}})'
    tspod_templates[1]+=' (mounted by: {{.store.graphOptions.mountProgram}})'
  fi
  podman_driver=$("${podman_cli[@]}" info --format "$podman_template" 2>/dev/null) ||
    podman_driver="$storage_driver (as passed with --storage-driver; podman info failed)"
  # Podman's template field names first; tspod 0.1 knows only the JSON ones.
  tspod_driver=$("${tspod_cli[@]}" info --format "${tspod_templates[0]}" 2>/dev/null) ||
    tspod_driver=$("${tspod_cli[@]}" info --format "${tspod_templates[1]}" 2>/dev/null) ||
    tspod_driver="$storage_driver (as passed with --storage-driver; tspod info --format failed)"
  commit=$(git -c safe.directory="$repo" -C "$repo" rev-parse --short HEAD 2>/dev/null) || commit="none (no commit yet)"
  meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  meta command "${BENCH_COMMAND:-bash bench/run.sh${*:+ $*}}"
  meta os "$os"
  meta kernel "$(uname -srm)"
  meta cpu "${cpu:-unknown} ($(nproc) cores)"
  meta memory "$((mem_kib / 1024)) MiB"
  meta load "$(cut -d' ' -f1-3 /proc/loadavg)"
  meta cgroups "$cgroup"
  meta user "$(id -un) (uid $(id -u)), rootless"
  meta node "$(node --version)"
  meta podman "$(podman --version)"
  meta tspod "${unavailable[tspod]:-$("$repo/bin/tspod" --version | head -n 1)}"
  meta tspod_commit "$commit"
  meta hyperfine "$(hyperfine --version)"
  meta podman_driver "$podman_driver"
  meta tspod_driver "$tspod_driver"
  meta quick "$quick"
  meta tspod_cli "$(quote_tool tspod)"
  meta podman_cli "$(quote_tool podman)"
}

# scenario [--slow] [--bare] [--before SHELL] [--wrap SCRIPT] [--goal RATIO] NAME TARGET TSPOD_ARGS PODMAN_ARGS [PREPARE_ARGS [PODMAN_PREPARE_ARGS]]
# Times `tool ARGS` for both tools in one hyperfine run and records the result
# as NAME. TARGET is the highest acceptable ratio, or - for none; GOAL, when
# given, the ratio aimed at beyond it. ARGS are the words after the tool's
# global flags, split on spaces. --slow gives it fewer runs; --bare leaves out
# the store flags, for commands that use no store; --wrap times
# `sh -c SCRIPT sh tool ARGS` instead, for a sequence of commands timed as
# one: the script calls the tool as "$@", and being the same for both tools,
# its cost cancels out in the ratio.
# Before every timed run come, when given, the shell command SHELL and
# `tool PREPARE_ARGS` (PODMAN_PREPARE_ARGS for Podman when they differ), then
# a sync, so that no run pays for writing back what the one before it wrote.
# A tool that fails the untimed trial run is left out and the failure reported.
# Both tools leave work running after a command returns: Podman's conmon
# runs `podman container cleanup` for up to a second after `run --rm`, and
# tspod's monitor runs `tspod container cleanup` after a detached --rm
# container exits. Each scenario waits (at most 10 s) until none of that is
# left, so that no tool's timed runs share the machine with the other's
# leftovers from the scenario before.
wait_quiet() {
  local uid i
  uid=$(id -u)
  for ((i = 0; i < 100; i++)); do
    pgrep -u "$uid" -x podman >/dev/null || pgrep -u "$uid" -x conmon >/dev/null ||
      pgrep -u "$uid" -f '[m]ain\.c?js .* container cleanup' >/dev/null || return 0
    sleep 0.1
  done
}

scenario() {
  local runs=("${fast_runs[@]}") before="" bare=0 wrap="" goal=-
  while [[ $1 == --* ]]; do
    case $1 in
      --slow) runs=("${slow_runs[@]}"); shift ;;
      --bare) bare=1; shift ;;
      --before) before=$2; shift 2 ;;
      --wrap) wrap=$2; shift 2 ;;
      --goal) goal=$2; shift 2 ;;
    esac
  done
  local name=$1 target=$2
  local -A args=([tspod]=$3 [podman]=$4) prep=([tspod]=${5:-} [podman]=${6:-${5:-}})
  local tool prep_cmd out timed=() prepares=() words prep_words
  say "scenario $name"
  for tool in tspod podman; do
    read -ra words <<<"${args[$tool]}"
    read -ra prep_words <<<"${prep[$tool]}"
    prep_cmd=$before
    # The wrapper script is for the timed command only, not its preparation.
    if ((${#prep_words[@]})); then
      prep_cmd+="${prep_cmd:+ && }$(wrap="" quote_tool "$tool" "${prep_words[@]}")>/dev/null"
    fi
    local err=$results/$name.$tool.err
    if [ -n "${blocked[$tool]:-}" ]; then
      printf '%s\n' "${blocked[$tool]}" >"$err"
    elif [ -n "$before" ] && ! out=$(bash -c "$before" 2>&1); then
      printf '`%s` failed: %s\n' "$before" "$(explain_failure "$out")" >"$err"
    elif ((${#prep_words[@]})) && ! wrap="" try_tool "$err" "$tool" "${prep_words[@]}"; then
      :
    elif try_tool "$err" "$tool" "${words[@]}"; then
      timed+=(-n "$tool" "$(quote_tool "$tool" "${words[@]}")")
      [ -z "$prep_cmd" ] || prepares+=(--prepare "$(printf '%q ' bash -c "$prep_cmd && sync")")
      continue
    fi
    say "  $tool left out: $(head -n 1 "$err")"
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$target" "${runs[*]}" \
    "${args[tspod]}" "${args[podman]}" "${prep[tspod]}" "${prep[podman]}" "$before" "$bare" "$wrap" "$goal" \
    >>"$results/scenarios.tsv"
  ((${#timed[@]})) || return 0
  wait_quiet
  hyperfine -N --output=pipe "${runs[@]}" --export-json "$results/$name.json" \
    "${prepares[@]}" "${timed[@]}"
}

fifty_done=0
declare -A fifty_error=()
# Both stores get 50 distinct images sharing one layer: the same busybox
# rootfs imported 50 times with a different label each.
with_fifty_images() {
  local tool i listed
  if ((!fifty_done)); then
    fifty_done=1
    say "setup: importing busybox-rootfs.tar 50 times into each store"
    for tool in tspod podman; do
      [ -z "${unavailable[$tool]:-}" ] || continue
      local err=$results/setup-fifty.$tool.err
      for i in $(seq 0 49); do
        if ! try_tool "$err" "$tool" import --change "LABEL=n=$i" "$busybox_rootfs" "bench$i"; then
          fifty_error[$tool]="setup failed: $(cat "$err")"
          break
        fi
      done
      [ -z "${fifty_error[$tool]:-}" ] || continue
      listed=$(run_tool "$tool" images 2>&1 | grep -cE '(^|/)bench[0-9]+ ') || true
      ((listed == 50)) || fifty_error[$tool]="setup failed: \`$tool images\` lists $listed of the 50 bench images"
    done
  fi
  for tool in "${!fifty_error[@]}"; do
    blocked[$tool]=${fifty_error[$tool]}
  done
}

busybox_done=0
declare -A busybox_error=()
# Both stores get the busybox fixture as the image `busybox`, which every
# container scenario runs; Podman's runtime is chosen once the image is there.
with_busybox() {
  local tool
  if ((!busybox_done)); then
    busybox_done=1
    say "setup: importing busybox-rootfs.tar into each store as busybox"
    for tool in tspod podman; do
      [ -z "${unavailable[$tool]:-}" ] || continue
      local err=$results/setup-busybox.$tool.err
      try_tool "$err" "$tool" import "$busybox_rootfs" busybox || busybox_error[$tool]="setup failed: $(cat "$err")"
    done
    choose_podman_runtime
  fi
  for tool in "${!busybox_error[@]}"; do
    blocked[$tool]=${busybox_error[$tool]}
  done
}

# Each tool runs containers with the fastest OCI runtime that works for it
# here. Podman's default, crun, refuses a host with cgroups v1 in hybrid mode;
# runc with the cgroupfs manager works there. tspod picks crun by itself: its
# namespace helper hides the cgroup v2 mount that crun would refuse.
choose_podman_runtime() {
  local out path
  if [ -z "${unavailable[podman]:-}${busybox_error[podman]:-}" ] &&
    ! out=$("${podman_cli[@]}" run --rm --network=none busybox true 2>&1); then
    podman_runtime=(--runtime runc --cgroup-manager cgroupfs)
    meta podman_default_runtime "$("${podman_cli[@]}" info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null || printf 'unknown')"
    meta podman_default_runtime_error "$(explain_failure "$out")"
  fi
  meta podman_runtime_flags "${podman_runtime[*]}"
  path=$("${podman_cli[@]}" "${podman_runtime[@]}" info --format '{{.Host.OCIRuntime.Path}}' 2>/dev/null) || path=""
  meta podman_runtime "$(runtime_version "$path")"
  if [ -z "${unavailable[tspod]:-}" ]; then
    path=$("${tspod_cli[@]}" info --format '{{.Host.OCIRuntime.Path}}' 2>/dev/null) || path=""
    meta tspod_runtime "$(runtime_version "$path")"
    meta tspod_runtime_reason "$("${tspod_cli[@]}" info --format '{{.Host.OCIRuntime.Reason}}' 2>/dev/null || true)"
  fi
}

debian_image_done=0
declare -A debian_image_error=()
# Both stores get the Debian fixture as the image `debian`, for iperf3: the
# host's /usr (the same Debian release) is mounted over it to bring iperf3.
with_debian_image() {
  local tool
  with_busybox
  with_debian_rootfs
  if ((!debian_image_done)); then
    debian_image_done=1
    say "setup: importing the Debian rootfs into each store as debian"
    for tool in tspod podman; do
      [ -z "${blocked[$tool]:-}" ] || continue
      local err=$results/setup-debian.$tool.err
      try_tool "$err" "$tool" import "$debian_rootfs" debian || debian_image_error[$tool]="setup failed: $(cat "$err")"
    done
  fi
  for tool in "${!debian_image_error[@]}"; do
    blocked[$tool]=${debian_image_error[$tool]}
  done
}

# iperf3 through a published port, host to container (the host sends) and
# container to host (-R: the container sends), 5 seconds each way, with each
# tool's default network and with tspod's --network pasta. Recorded as
# iperf_KEY_in and iperf_KEY_out in Gbit/s (or why not), KEY tspod, podman or tspodpasta.
# One iperf3 run of 5 s against 127.0.0.1:PORT, DIR in (host to container) or
# out (-R); prints Gbit/s, or the failure. Retried while the server comes up.
iperf_once() {
  local port=$1 dir=$2 out rate reverse=()
  [ "$dir" = in ] || reverse=(-R)
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    if out=$(iperf3 -c 127.0.0.1 -p "$port" -t 5 -J "${reverse[@]}" 2>&1); then
      rate=$(node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log((r.end.sum_received.bits_per_second / 1e9).toFixed(2))' <<<"$out") && {
        printf '%s' "$rate"
        return 0
      }
    fi
    sleep 0.5
  done
  printf 'iperf3 -c 127.0.0.1 -p %s failed: %s' "$port" "$(explain_failure "$out")"
  return 1
}

# The servers of all three run side by side and are measured in rounds, one
# tool after the other: on a shared machine the load changes from minute to
# minute, and one 5 s sample per tool taken minutes apart compares the load
# more than the tools. Each figure is the median of the rounds.
measure_throughput() {
  local key tool out port=18590 dir rate
  local keys=() values
  local -A ports=() names=() samples=() failures=()
  say "scenario throughput"
  command -v iperf3 >/dev/null || { meta iperf_error "iperf3 is not installed: run scripts/setup.sh as root"; return 0; }
  for key in tspod podman tspodpasta; do
    tool=${key%pasta}
    port=$((port + 1))
    if [ -n "${blocked[$tool]:-}" ]; then
      meta "iperf_${key}_in" "not measured: ${blocked[$tool]}"
      continue
    fi
    # Podman's flags are global (before run), tspod's --network belongs after it.
    local before=() after=()
    [ "$tool" = tspod ] || before=("${podman_runtime[@]}")
    [ "$key" != tspodpasta ] || after=(--network pasta)
    if ! out=$(run_tool "$tool" "${before[@]}" run -d --name "bench$key" "${after[@]}" -v /usr:/usr:ro -p "$port:5201" debian iperf3 -s 2>&1); then
      meta "iperf_${key}_in" "not measured: \`$tool run -d -p $port:5201 debian iperf3 -s\` failed: $(explain_failure "$out")"
      run_tool "$tool" "${before[@]}" rm -f -t 0 "bench$key" >/dev/null 2>&1 || true
      continue
    fi
    keys+=("$key")
    ports[$key]=$port
    names[$key]="$tool ${before[*]}"
  done
  for _ in 1 2 3; do
    for dir in in out; do
      for key in "${keys[@]}"; do
        if rate=$(iperf_once "${ports[$key]}" "$dir"); then
          samples[${key}_$dir]+="$rate "
        else
          failures[${key}_$dir]=$rate
        fi
      done
    done
  done
  for key in "${keys[@]}"; do
    for dir in in out; do
      values=${samples[${key}_$dir]:-}
      if [ -z "$values" ]; then
        meta "iperf_${key}_$dir" "not measured: ${failures[${key}_$dir]:-no samples}"
        continue
      fi
      meta "iperf_${key}_$dir" "$(tr ' ' '\n' <<<"$values" | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
      meta "iperf_${key}_${dir}_samples" "${values% }"
    done
    # shellcheck disable=SC2086 # names holds the tool and its global flags as words
    run_tool ${names[$key]} rm -f -t 0 "bench$key" >/dev/null 2>&1 || true
  done
}

runtime_version() {
  [ -n "$1" ] && "$1" --version 2>/dev/null | head -n 1 || printf 'unknown'
}

# Podman's arguments for a container scenario: its runtime flags, then ARGS.
podman_container_args() {
  local words=("${podman_runtime[@]}" "$@")
  printf '%s' "${words[*]}"
}

containers_done=0
declare -A containers_error=()
# Both stores get 50 busybox containers, created and never started, as a
# user who keeps old containers around has them.
with_fifty_containers() {
  local tool i listed
  with_busybox
  if ((!containers_done)); then
    containers_done=1
    say "setup: creating 50 containers in each store"
    for tool in tspod podman; do
      [ -z "${blocked[$tool]:-}" ] || continue
      local err=$results/setup-containers.$tool.err flags=()
      [ "$tool" = tspod ] || flags=("${podman_runtime[@]}")
      for i in $(seq 0 49); do
        if ! try_tool "$err" "$tool" "${flags[@]}" create --name "benchc$i" busybox true; then
          containers_error[$tool]="setup failed: $(cat "$err")"
          break
        fi
      done
      [ -z "${containers_error[$tool]:-}" ] || continue
      listed=$(run_tool "$tool" "${flags[@]}" ps -a 2>&1 | grep -cE ' benchc[0-9]+$') || true
      ((listed == 50)) || containers_error[$tool]="setup failed: \`$tool ps -a\` lists $listed of the 50 bench containers"
    done
  fi
  for tool in "${!containers_error[@]}"; do
    blocked[$tool]=${containers_error[$tool]}
  done
}

# The resident memory of what stays beside a running container: tspod's
# monitor and Podman's conmon, one container each, read from /proc once both
# have settled after start-up. Recorded as rss_TOOL (KiB, or why not).
measure_memory() {
  local tool out pid flags
  local -A started=() pattern=()
  say "scenario memory"
  for tool in tspod podman; do
    flags=()
    [ "$tool" = tspod ] || flags=("${podman_runtime[@]}")
    if [ -n "${blocked[$tool]:-}" ]; then
      meta "rss_$tool" "not measured: ${blocked[$tool]}"
    elif out=$(run_tool "$tool" "${flags[@]}" run -d --name benchmem busybox sleep 1000 2>&1); then
      started[$tool]=$(tail -n 1 <<<"$out")
    else
      meta "rss_$tool" "not measured: \`$tool ${flags[*]}${flags[*]:+ }run -d --name benchmem busybox sleep 1000\` failed: $(explain_failure "$out")"
    fi
  done
  sleep 1
  pattern[tspod]="[t]spod-monitor --cid ${started[tspod]:-} .*$work/tspod/root/"
  pattern[podman]="[c]onmon .*-c ${started[podman]:-} .*$work/podman/root/"
  for tool in "${!started[@]}"; do
    flags=()
    [ "$tool" = tspod ] || flags=("${podman_runtime[@]}")
    if pid=$(pgrep -f "${pattern[$tool]}") && [ "$(wc -l <<<"$pid")" -eq 1 ]; then
      meta "rss_$tool" "$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"
    else
      meta "rss_$tool" "not measured: \`pgrep -f '${pattern[$tool]}'\` found ${pid:-no process}"
    fi
    out=$(run_tool "$tool" "${flags[@]}" rm -f -t 0 benchmem 2>&1) || say "warning: removing benchmem failed for $tool: $(explain_failure "$out")"
  done
  say "  RSS (KiB): tspod's monitor $(grep '^rss_tspod=' "$results/meta.txt" | cut -d= -f2-), Podman's conmon $(grep '^rss_podman=' "$results/meta.txt" | cut -d= -f2-)"
}

# Starts a detached container and removes it again, timed as one command: the
# tool is "$@".
LIFECYCLE_SCRIPT='"$@" run -d --name benchlc busybox sleep 1000 && exec "$@" rm -f -t 0 benchlc'
# Starts a web server with a published port and waits until the port answers
# from the host: the time until a user's service is reachable. The host port
# is the first -p value among the arguments (the server's own -p comes later);
# the container goes before the next run; 20 s without an answer is a failure.
# One line: hyperfine splits the command itself and knows no $'…' quoting.
PUBLISH_SCRIPT='for a in "$@"; do [ -z "$port" ] && [ "$prev" = -p ] && port=${a%%:*}; prev=$a; done; "$@" >/dev/null || exit 1; end=$(($(date +%s) + 20)); until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; do [ "$(date +%s)" -lt "$end" ] || exit 1; done'
# Host ports of the publish scenario, one per tool: the last container of one
# tool still holds its port when the other tool's runs start.
declare -A PUBLISH_PORTS=([tspod]=18580 [podman]=18581)

# A rootfs of about 200 MB with the shape of a real one: busybox, a few big
# shared libraries and many small files (man pages, docs, locales) from the
# host, taken in sorted order up to the size, with fixed owners and mtimes so
# that the same host always gives the same bytes. Built once and kept. Its
# last entry is NONCE_FILE, NONCE_BYTES long, which the import scenario
# rewrites in place before every timed run (bench/README.md says why).
NONCE_FILE=etc/bench-nonce
NONCE_BYTES=32
with_big_rootfs() {
  [ -f "$big_rootfs" ] && nonce_offset >/dev/null && return
  say "setup: building $big_rootfs (once)"
  stage=$(mktemp -d "$work/.rootfs.XXXXXX")
  local candidates=$stage/candidates list=$stage/entries src
  find /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -size +10M -size -40M -readable -printf 'f %s %P\n' |
    LC_ALL=C sort -k2,2nr -k3 | awk 'NR <= 3 { print $1, $2, "usr/lib/x86_64-linux-gnu/" $3 }' >"$candidates"
  for src in usr/share/man usr/share/doc usr/share/locale usr/share/i18n usr/share/perl; do
    [ -d "/$src" ] || continue
    (cd / && find "$src" -readable \( -type d -o -type f -o -type l \) -printf '%y %s %p\n' 2>/dev/null) |
      LC_ALL=C sort -k3 >>"$candidates"
  done
  awk -v budget="$((BIG_ROOTFS_BYTES - $(stat -c %s "$busybox_rootfs")))" '
    # Parent directories first, each once; stop at the first file that would not fit.
    function parents(p,   i, n, parts, d) {
      n = split(p, parts, "/"); d = parts[1]
      for (i = 2; i < n; i++) { d = d "/" parts[i]; if (!(d in seen)) { seen[d] = 1; if (d != "usr") print d } }
    }
    $1 == "f" && total + $2 > budget { exit }
    {
      if ($1 == "f") total += $2
      path = $0; sub(/^[^ ]+ [^ ]+ /, "", path)
      parents(path)
      if (!(path in seen)) { seen[path] = 1; print path }
    }
  ' "$candidates" >"$list"
  mkdir -p "$stage/nonce/${NONCE_FILE%/*}"
  printf "%0${NONCE_BYTES}d" 0 >"$stage/nonce/$NONCE_FILE"
  local tar_flags=(--format=gnu --no-recursion --numeric-owner --owner=0 --group=0 --mtime=@0)
  cp "$busybox_rootfs" "$stage/rootfs.tar"
  tar --append --file="$stage/rootfs.tar" --directory=/ "${tar_flags[@]}" --verbatim-files-from --files-from="$list"
  tar --append --file="$stage/rootfs.tar" --directory="$stage/nonce" "${tar_flags[@]}" "$NONCE_FILE"
  mv "$stage/rootfs.tar" "$big_rootfs"
  rm -rf "$stage"
  stage=""
}

# Where the content of NONCE_FILE starts in the big rootfs: the block after its header.
nonce_offset() {
  local block
  block=$(tar --list --block-number --file="$big_rootfs" | awk -v f="$NONCE_FILE" '$3 == f { b = $2 } END { print b + 0 }')
  ((block > 0)) && printf '%d' $(((block + 1) * 512))
}

describe_big_rootfs() {
  local bytes entries
  bytes=$(stat -c %s "$big_rootfs")
  entries=$(tar -tvf "$big_rootfs" | awk '{ n++ } /^-/ { f++; if ($3 > 10000000) big++ } END { printf "%d entries, %d regular files, %d of them over 10 MB", n, f, big }')
  meta big_rootfs "bench/work/${big_rootfs##*/}: $((bytes / 1000000)) MB uncompressed, $entries"
}

# ext4 without a journal skips inodes freed in the last minute when it
# allocates, which slows every file an import creates (bench/README.md has
# the numbers); the stores removed at the start must age past that first.
wait_for_freed_inodes() {
  local left=$((stores_reset_at + 65 - SECONDS))
  if ((left > 0)); then
    say "waiting ${left}s until the inodes freed by the store reset may be reused"
    sleep "$left"
  fi
}

registry_host=""
registry_error=""
registry_pid=""
registry_dir=$work/registry
# A docker-registry of this run's own, serving plain HTTP on a free loopback
# port from bench/work/registry; both tools reach it with --tls-verify=false.
with_registry() {
  local tool
  if [ -z "$registry_host$registry_error" ]; then
    say "setup: starting docker-registry"
    local port config=$registry_dir/config.yml i
    rm -rf "$registry_dir"
    mkdir -p "$registry_dir"
    port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')
    printf '%s\n' 'version: 0.1' 'log:' '  level: error' '  accesslog:' '    disabled: true' 'storage:' '  filesystem:' \
      "    rootdirectory: $registry_dir/data" '  delete:' '    enabled: true' 'http:' "  addr: 127.0.0.1:$port" >"$config"
    if [ ! -x /usr/bin/docker-registry ]; then
      registry_error="setup failed: /usr/bin/docker-registry is missing: run scripts/setup.sh as root"
    else
      /usr/bin/docker-registry serve "$config" >"$registry_dir/log" 2>&1 &
      registry_pid=$!
      for i in $(seq 1 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$port/v2/" && registry_host=127.0.0.1:$port && break
        kill -0 "$registry_pid" 2>/dev/null || break
        sleep 0.1
      done
      [ -n "$registry_host" ] ||
        registry_error="setup failed: docker-registry did not answer on 127.0.0.1:$port: $(explain_failure "$(cat "$registry_dir/log")")"
    fi
    meta registry "$(dpkg-query -W -f '${Package} ${Version}' docker-registry 2>/dev/null || printf 'docker-registry') on $registry_host"
  fi
  for tool in tspod podman; do
    [ -z "$registry_error" ] || blocked[$tool]=$registry_error
  done
}

stop_registry() {
  [ -n "$registry_pid" ] || return 0
  kill "$registry_pid" 2>/dev/null || true
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=""
  rm -rf "$registry_dir"
}

# Uploads REPOSITORY:TAG to the registry with one gzip layer per TAR, each
# with a nonce file appended; as a --before command it runs anew before every
# timed run, with a fresh nonce.
upload_command() {
  local reference=$1
  shift
  printf 'node %q http://%s %q "$(date +%%s%%N)"' "$repo/bench/registry-image.mjs" "$registry_host" "$reference"
  printf ' %q' "$@"
}

debian_rootfs=""
# The Debian minbase rootfs made by scripts/make-fixtures.sh --debian.
with_debian_rootfs() {
  [ -z "$debian_rootfs" ] || return 0
  debian_rootfs=$fixtures/debian-bookworm-rootfs.tar
  if [ ! -r "$debian_rootfs" ]; then
    say "no $debian_rootfs: building one in bench/work"
    TSPOD_FIXTURES=$work/fixtures bash "$repo/scripts/make-fixtures.sh" --debian >/dev/null ||
      die "building debian-bookworm-rootfs.tar failed (scripts/make-fixtures.sh --debian)"
    debian_rootfs=$work/fixtures/debian-bookworm-rootfs.tar
  fi
  meta debian_rootfs "${debian_rootfs##*/}: $(($(stat -c %s "$debian_rootfs") / 1000000)) MB uncompressed, $(tar -tf "$debian_rootfs" | wc -l) entries"
}

five_layers=()
# The bottom layer is the busybox fixture, the four above it one small file each.
with_five_layer_tars() {
  ((${#five_layers[@]} == 0)) || return 0
  local i dir=$work/layers
  rm -rf "$dir"
  five_layers=("$busybox_rootfs")
  for i in 1 2 3 4; do
    mkdir -p "$dir/$i"
    printf 'this is layer %d\n' "$i" >"$dir/$i/layer$i.txt"
    tar --create --file="$dir/layer$i.tar" --directory="$dir/$i" --numeric-owner --owner=0 --group=0 --mtime=@0 "layer$i.txt"
    five_layers+=("$dir/layer$i.tar")
  done
}

push_ready=0
declare -A push_error=()
# Both stores get the Debian rootfs imported as bench-debian: an image with no
# compressed copy of its layer yet, so that each push compresses it.
with_pushable_debian() {
  local tool
  with_registry
  [ -z "$registry_error" ] || return 0
  if ((!push_ready)); then
    push_ready=1
    with_debian_rootfs
    say "setup: importing debian-bookworm-rootfs.tar into each store as bench-debian"
    for tool in tspod podman; do
      [ -z "${unavailable[$tool]:-}" ] || continue
      try_tool "$results/setup-push.$tool.err" "$tool" import "$debian_rootfs" bench-debian ||
        push_error[$tool]="setup failed: $(cat "$results/setup-push.$tool.err")"
    done
  fi
  for tool in "${!push_error[@]}"; do
    blocked[$tool]=${push_error[$tool]}
  done
}

build_dir=$work/build
build_contexts_done=0
# Three build contexts, made once per run in bench/work/build: `five`, a
# Dockerfile of five steps after FROM; `copy`, `COPY . /app` of 10,000 small
# files in 100 directories; `multi`, two stages that do not depend on each
# other, each waiting a second in a RUN, and a last stage copying from both.
with_build_contexts() {
  with_busybox
  ((build_contexts_done)) && return 0
  build_contexts_done=1
  say "setup: writing the build contexts in bench/work/build"
  rm -rf "$build_dir"
  mkdir -p "$build_dir/five" "$build_dir/copy" "$build_dir/multi"
  printf 'hello\n' >"$build_dir/five/hello.txt"
  printf '%s\n' 'FROM busybox' 'ENV APP=bench' 'WORKDIR /app' 'COPY hello.txt /app/' \
    'RUN echo built > /app/built.txt' 'CMD ["cat", "/app/built.txt"]' >"$build_dir/five/Dockerfile"
  printf '%s\n' 'FROM busybox' 'COPY . /app' >"$build_dir/copy/Dockerfile"
  local d f
  for d in $(seq -w 0 99); do
    mkdir "$build_dir/copy/d$d"
    for f in $(seq -w 0 99); do printf 'file %s/%s\n' "$d" "$f" >"$build_dir/copy/d$d/f$f"; done
  done
  printf '%s\n' 'FROM busybox AS left' 'RUN sleep 1 && echo left > /left' \
    'FROM busybox AS right' 'RUN sleep 1 && echo right > /right' \
    'FROM busybox' 'COPY --from=left /left /left' 'COPY --from=right /right /right' >"$build_dir/multi/Dockerfile"
  sync
}

run_scenario() {
  blocked=()
  local tool
  for tool in "${!unavailable[@]}"; do
    blocked[$tool]=${unavailable[$tool]}
  done
  case $1 in
    version) scenario --bare version 2.0 --version --version ;;
    images) with_fifty_images; scenario images 1.5 images images ;;
    inspect) with_fifty_images; scenario inspect - "image inspect bench7" "image inspect bench7" ;;
    import)
      with_big_rootfs
      describe_big_rootfs
      wait_for_freed_inodes
      local stamp
      stamp="printf %0${NONCE_BYTES}d \$(date +%s%N) | dd of=$big_rootfs oflag=seek_bytes seek=$(nonce_offset) conv=notrunc status=none"
      scenario --slow --before "$stamp" import 0.7 "import $big_rootfs benchbig" "import $big_rootfs benchbig"
      ;;
    run)
      with_busybox
      scenario --goal 0.5 run 1.0 "run --rm --network=none busybox true" \
        "$(podman_container_args run --rm --network=none busybox true)"
      ;;
    run-net)
      with_busybox
      scenario run-net 1.0 "run --rm busybox true" "$(podman_container_args run --rm busybox true)"
      ;;
    publish)
      with_busybox
      local web="busybox httpd -f -p 80 -h /etc"
      scenario --wrap "$PUBLISH_SCRIPT" publish 0.8 "run -d --name benchpub -p ${PUBLISH_PORTS[tspod]}:80 $web" \
        "$(podman_container_args run -d --name benchpub -p "${PUBLISH_PORTS[podman]}":80 $web)" \
        "rm -f -i -t 0 benchpub" "$(podman_container_args rm -f -i -t 0 benchpub)"
      run_tool tspod rm -f -i -t 0 benchpub >/dev/null 2>&1 || true
      run_tool podman "${podman_runtime[@]}" rm -f -i -t 0 benchpub >/dev/null 2>&1 || true
      ;;
    throughput) with_debian_image; measure_throughput ;;
    lifecycle) with_busybox; scenario --wrap "$LIFECYCLE_SCRIPT" lifecycle 0.8 "" "$(podman_container_args)" ;;
    ps) with_fifty_containers; scenario ps 1.5 "ps -a" "$(podman_container_args ps -a)" ;;
    memory) with_busybox; measure_memory ;;
    pull)
      with_registry
      with_debian_rootfs
      [ -z "$registry_error" ] || { scenario pull 0.6 - -; return 0; }
      wait_for_freed_inodes
      scenario --slow --goal 0.5 --before "$(upload_command bench/debian:1 "$debian_rootfs")" pull 0.6 \
        "pull -q --tls-verify=false $registry_host/bench/debian:1" "pull -q --tls-verify=false $registry_host/bench/debian:1"
      ;;
    pull5)
      with_registry
      with_five_layer_tars
      [ -z "$registry_error" ] || { scenario pull5 0.6 - -; return 0; }
      wait_for_freed_inodes
      scenario --slow --before "$(upload_command bench/five:1 "${five_layers[@]}")" pull5 0.6 \
        "pull -q --tls-verify=false $registry_host/bench/five:1" "pull -q --tls-verify=false $registry_host/bench/five:1"
      ;;
    push)
      with_pushable_debian
      local v2=$registry_dir/data/docker/registry/v2
      scenario --slow --before "rm -rf $v2/blobs $v2/repositories/bench/push" push 1.0 \
        "push --tls-verify=false bench-debian $registry_host/bench/push:1" \
        "push --tls-verify=false bench-debian $registry_host/bench/push:1"
      ;;
    build-cached)
      with_build_contexts
      scenario build-cached 0.5 "build -t benchbuild $build_dir/five" "$(podman_container_args build -t benchbuild "$build_dir/five")"
      ;;
    build-nocache)
      with_build_contexts
      scenario --slow build-nocache 0.7 "build --no-cache -t benchbuild $build_dir/five" \
        "$(podman_container_args build --no-cache -t benchbuild "$build_dir/five")"
      ;;
    build-copy)
      with_build_contexts
      wait_for_freed_inodes
      # One file changes before every run, as when a user rebuilds after an
      # edit: each run copies new content, so neither tool can reuse a layer.
      scenario --slow --before "date +%s%N >$build_dir/copy/d00/f00" build-copy 0.7 "build --no-cache -t benchcopy $build_dir/copy" \
        "$(podman_container_args build --no-cache -t benchcopy "$build_dir/copy")"
      ;;
    build-multistage)
      with_build_contexts
      scenario --slow build-multistage 1.0 "build --no-cache -t benchmulti $build_dir/multi" \
        "$(podman_container_args build --no-cache -t benchmulti "$build_dir/multi")"
      ;;
  esac
}

busybox_rootfs=$fixtures/busybox-rootfs.tar
if [ ! -r "$busybox_rootfs" ]; then
  say "no $busybox_rootfs: building one in bench/work"
  TSPOD_FIXTURES=$work/fixtures bash "$repo/scripts/make-fixtures.sh" >/dev/null ||
    die "building busybox-rootfs.tar failed (scripts/make-fixtures.sh)"
  busybox_rootfs=$work/fixtures/busybox-rootfs.tar
fi

choose_driver
if ! out=$("$repo/bin/tspod" --version 2>&1); then
  unavailable[tspod]="\`tspod --version\` failed: $(explain_failure "$out")"
  say "tspod is unavailable, timing Podman alone: ${unavailable[tspod]}"
fi

# A half-built rootfs never looks complete, and the stores go unless --keep.
stage=""
finish() {
  [ -z "$stage" ] || rm -rf "$stage"
  stop_registry
  ((keep)) || reset_stores
}
trap finish EXIT

say "resetting both stores in bench/work ($storage_driver)"
reset_stores
sync
stores_reset_at=$SECONDS
# Untimed first calls: Podman's pause process and tspod's namespace holder
# exist before any timed run, as they would for a user who used the tool before.
"${podman_cli[@]}" info >/dev/null
if [ -z "${unavailable[tspod]:-}" ] && ! out=$("${tspod_cli[@]}" images 2>&1); then
  say "warning: the untimed \`tspod images\` failed: $(explain_failure "$out")"
fi
describe_machine "$@"

for name in "${SCENARIOS[@]}"; do
  if [[ " ${selected[*]} " == *" $name "* ]]; then
    run_scenario "$name"
  fi
done

node "$repo/bench/report.mjs" "$results" "$results/RESULTS.md"
# Started through root, root copies the report; otherwise write it in place if we may.
if [ -z "${BENCH_COMMAND:-}" ]; then
  if [ -w "$repo/bench" ]; then
    cp "$results/RESULTS.md" "$repo/bench/RESULTS.md"
    say "wrote bench/RESULTS.md"
  else
    say "wrote $results/RESULTS.md (bench/ is not writable by $(id -un))"
  fi
fi
