#!/usr/bin/env bash
# Prepares a Debian 12 machine to build tspod and run its tests, then shows
# tspod working as an unprivileged user. Every step checks before it acts, so
# a second run does nothing and takes about a second: scripts/test.sh runs
# this (with --quick) before every test run.
#
# Usage: scripts/setup.sh [--quick]
#   --quick   skip the closing demo
# Environment:
#   TSPOD_USER       the unprivileged user tests run as (default tspod; root only)
#   TSPOD_FIXTURES   fixture cache (default /var/cache/tspod-fixtures)
#
# As root it does everything. As another user it does the parts a user can
# (node modules, build, fixtures in a writable cache, demo as yourself) and
# lists the commands a root must run for the rest.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd -P)

PACKAGES=(
  uidmap runc crun slirp4netns passt fuse-overlayfs catatonit busybox-static
  zstd xz-utils bzip2 pigz attr acl golang-github-containers-common podman skopeo
  docker-registry hyperfine debootstrap util-linux procps iproute2 gcc
  libc6-dev make git ca-certificates apache2-utils openssl iperf3 netavark aardvark-dns iptables systemd python3 openssh-client libseccomp-dev
)
# What /etc/login.defs gives a non-root login on Debian: runuser -u does not
# apply it, and tests should see the PATH a real user sees.
LOGIN_PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games
# The container the demo starts once `tspod run` exists.
DEMO_RUN=(run --rm localhost/busybox echo hello)

quick=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) printf 'setup: unknown option: %s (try --help)\n' "$arg" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1
# Commands a non-root run could not do itself; printed at the end.
root_todo=()

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

# Runs a noisy command with its output kept aside; shows the end of it only
# when the command fails, so a good run stays one line per step.
quietly() {
  local log=$log_dir/$1.log
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    return 1
  fi
}

missing_packages() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null |
    awk '$2 == "ii" { print $1 }') || true
  local p
  for p in "${PACKAGES[@]}"; do
    grep -qxF "$p" <<<"$installed" || printf '%s\n' "$p"
  done
}

step_packages() {
  command -v dpkg-query >/dev/null ||
    die "dpkg-query not found: this script supports Debian 12; install by hand: ${PACKAGES[*]}"
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    say "packages: all ${#PACKAGES[@]} present"
    return
  fi
  if ((!is_root)); then
    say "packages: missing ${missing[*]} (needs root)"
    root_todo+=("apt-get install -y --no-install-recommends ${missing[*]}")
    return
  fi
  say "packages: installing ${missing[*]}"
  quietly apt-update apt-get update || die "apt-get update failed (output above)"
  quietly apt-install env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed (output above)"
}

# Sums the subordinate ids a user owns in FILE; entries may name the user or its uid.
count_subids() {
  [ -r "$1" ] || { echo 0; return; }
  awk -F: -v n="$2" -v u="$3" '$1 == n || $1 == u { c += $3 } END { print c + 0 }' "$1"
}

# The first id above every range already handed out, so a new range overlaps none.
next_subid_start() {
  cat /etc/subuid /etc/subgid 2>/dev/null |
    awk -F: 'NF >= 3 { e = $2 + $3; if (e > m) m = e } END { print (m > 100000 ? m : 100000) }'
}

step_user() {
  local created=""
  if ((is_root)); then
    user=${TSPOD_USER:-tspod}
    if ! id -u "$user" >/dev/null 2>&1; then
      useradd -m -s /bin/bash "$user" || die "useradd $user failed"
      created=" (created)"
    fi
  else
    user=$(id -un)
  fi
  uid=$(id -u "$user")
  gid=$(id -g "$user")
  home=$(getent passwd "$user" | cut -d: -f6)

  local subuids subgids start add=()
  subuids=$(count_subids /etc/subuid "$user" "$uid")
  subgids=$(count_subids /etc/subgid "$user" "$uid")
  if ((subuids == 0 || subgids == 0)); then
    start=$(next_subid_start)
    ((subuids == 0)) && add+=(--add-subuids "$start-$((start + 65535))")
    ((subgids == 0)) && add+=(--add-subgids "$start-$((start + 65535))")
    if ((is_root)); then
      usermod "${add[@]}" "$user" || die "usermod ${add[*]} $user failed"
      subuids=$(count_subids /etc/subuid "$user" "$uid")
      subgids=$(count_subids /etc/subgid "$user" "$uid")
      created+=" (subordinate ids added from $start)"
    else
      root_todo+=("usermod ${add[*]} $user")
    fi
  fi
  say "user: $user (uid $uid) with $subuids subuids and $subgids subgids$created"
}

# No systemd-logind here, so nothing else creates the user's runtime directory.
step_runtime_dir() {
  if ((is_root)); then
    runtime_dir=/run/user/$uid
    install -d -m 0700 -o "$uid" -g "$gid" "$runtime_dir" || die "cannot create $runtime_dir"
    say "runtime dir: $runtime_dir (0700, $user)"
    return
  fi
  runtime_dir=${XDG_RUNTIME_DIR:-/run/user/$uid}
  if [ -d "$runtime_dir" ] && [ "$(stat -c %u "$runtime_dir")" = "$uid" ]; then
    say "runtime dir: $runtime_dir"
  else
    say "runtime dir: $runtime_dir missing or not yours (needs root)"
    root_todo+=("install -d -m 0700 -o $uid -g $gid /run/user/$uid")
  fi
}

# Rootless networking needs /dev/net/tun and fuse-overlayfs needs /dev/fuse
# usable by everyone, as distributions ship them; some machines ship 0600.
step_devices() {
  local dev mode opened=() ready=() absent=() line
  for dev in /dev/net/tun /dev/fuse; do
    if [ ! -c "$dev" ]; then
      absent+=("$dev")
      continue
    fi
    mode=$(stat -c %a "$dev")
    if [ "$mode" = 666 ]; then
      ready+=("$dev")
    elif ((is_root)); then
      chmod 0666 "$dev" || die "chmod 0666 $dev failed"
      opened+=("$dev (was $mode)")
    else
      root_todo+=("chmod 0666 $dev")
      absent+=("$dev (mode $mode, needs root)")
    fi
  done
  line="devices:"
  ((${#opened[@]})) && line+=" opened ${opened[*]} to 0666 as distributions ship them;"
  ((${#ready[@]})) && line+=" ${ready[*]} usable (0666);"
  ((${#absent[@]})) && line+=" not usable: ${absent[*]};"
  say "${line%;}"
}

# The test user runs bin/tspod from this checkout, so it must reach it; a
# clone under /root is unreachable until its parents are traversable.
step_repo_access() {
  if ((!is_root)); then
    return
  fi
  if runuser -u "$user" -- test -r "$repo/package.json"; then
    say "repo: $repo readable by $user"
    return
  fi
  local dir="" part opened=()
  local -a parts
  IFS=/ read -ra parts <<<"${repo#/}"
  for part in "${parts[@]}"; do
    dir+=/$part
    if ! runuser -u "$user" -- test -x "$dir"; then
      chmod o+x "$dir" || die "chmod o+x $dir failed"
      opened+=("$dir")
    fi
  done
  runuser -u "$user" -- test -r "$repo/package.json" ||
    die "repo: $user cannot read $repo/package.json: clone tspod to a world-readable place such as /opt/tspod and run setup there"
  say "repo: opened ${opened[*]:-nothing} (o+x) so $user can read $repo"
}

step_fixtures() {
  bash scripts/make-fixtures.sh || die "building the test fixtures failed (scripts/make-fixtures.sh)"
  fixtures=${TSPOD_FIXTURES:-/var/cache/tspod-fixtures}
}

step_node_modules() {
  local ref=package.json cmd=(npm install)
  if [ -f package-lock.json ]; then
    ref=package-lock.json
    cmd=(npm ci)
  fi
  # npm writes this hidden lock file on every install, so its age is the install's.
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt "$ref" ]; then
    say "node modules: up to date"
    return
  fi
  say "node modules: ${cmd[*]}"
  quietly npm "${cmd[@]}" --no-audit --no-fund || die "${cmd[*]} failed (output above)"
}

step_build() {
  # Touched after each build this script runs; a fresh npm install counts
  # as an input, since a new esbuild or TypeScript may build differently.
  local stamp=build/.setup-stamp input inputs=()
  for input in src scripts/build.mjs scripts/build-c.sh package.json package-lock.json tsconfig.json \
    node_modules/.package-lock.json; do
    [ -e "$input" ] && inputs+=("$input")
  done
  if [ -f "$stamp" ] && [ -d dist ] &&
    [ -z "$(find "${inputs[@]}" -newer "$stamp" -print -quit)" ]; then
    say "build: up to date"
    return
  fi
  say "build: npm run build"
  quietly build npm run build || die "npm run build failed (output above)"
  touch "$stamp"
}

# Runs a command as the test user in a clean environment, as after a login.
as_user() {
  if ((is_root)); then
    runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user" SHELL=/bin/bash \
      PATH="$LOGIN_PATH" XDG_RUNTIME_DIR="$runtime_dir" "$@"
  else
    "$@"
  fi
}

step_demo() {
  local tspod=$repo/bin/tspod image=localhost/busybox:latest out
  [ -x "$tspod" ] || die "demo: $tspod is missing or not executable"
  out=$(as_user "$tspod" import "$fixtures/busybox-rootfs.tar" "$image" 2>&1) ||
    die "demo: tspod import failed as $user: $out"
  say "demo: $user ran tspod import busybox-rootfs.tar $image: ${out##*$'\n'}"
  if as_user "$tspod" run --help >/dev/null 2>&1; then
    out=$(as_user "$tspod" "${DEMO_RUN[@]}" 2>&1) ||
      die "demo: tspod ${DEMO_RUN[*]} failed as $user: $out"
    say "demo: $user ran tspod ${DEMO_RUN[*]}: $out"
  else
    out=$(as_user "$tspod" image inspect --format '{{.Id}}' localhost/busybox 2>&1) ||
      die "demo: tspod image inspect failed as $user: $out"
    say "demo: tspod image inspect --format '{{.Id}}' localhost/busybox: $out"
  fi
}

step_packages
step_user
step_runtime_dir
step_devices
step_repo_access
step_fixtures
step_node_modules
step_build

if ((${#root_todo[@]})); then
  printf 'setup: a root must run these first, then run setup again:\n' >&2
  printf '  %s\n' "${root_todo[@]}" >&2
  exit 1
fi

if ((!quick)); then
  step_demo
fi
say "setup complete"
