#!/usr/bin/env bash
# Builds the root filesystem tarballs that the end-to-end tests import, into a
# cache directory shared by every checkout on the machine. A tarball is
# rebuilt only when missing or older than what it is made from, and written
# under a temporary name and renamed, so an interrupted build never leaves a
# file that looks complete.
#
# Usage: scripts/make-fixtures.sh [--debian]
#   (always)   busybox-rootfs.tar          from /bin/busybox (busybox-static), byte-reproducible
#   --debian   debian-bookworm-rootfs.tar  debootstrap minbase; needs root and the Debian mirror, takes minutes
# Environment: TSPOD_FIXTURES (default /var/cache/tspod-fixtures), DEBIAN_MIRROR.
set -euo pipefail

cd "$(dirname "$0")/.."
self=$(pwd -P)/scripts/make-fixtures.sh
out_dir=${TSPOD_FIXTURES:-/var/cache/tspod-fixtures}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Every entry gets this mtime, so the same busybox gives the same bytes.
FIXTURE_EPOCH=0
BUSYBOX=/bin/busybox

want_debian=0
for arg in "$@"; do
  case $arg in
    --debian) want_debian=1 ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) printf 'make-fixtures: unknown option: %s (try --help)\n' "$arg" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'make-fixtures: error: %s\n' "$*" >&2; exit 1; }

# Modes in the tarballs must not depend on who builds them.
umask 022

stage=""
cleanup() {
  [ -n "$stage" ] || return 0
  # An interrupted debootstrap can leave proc and sys mounted in the stage.
  findmnt -rno TARGET | grep -F "$stage/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$stage"
}
trap cleanup EXIT

ensure_out_dir() {
  if [ ! -d "$out_dir" ]; then
    mkdir -p "$out_dir" 2>/dev/null ||
      die "cannot create $out_dir: run as root, or set TSPOD_FIXTURES to a directory you own"
    chmod 0755 "$out_dir"
  fi
  [ -w "$out_dir" ] ||
    die "cannot write $out_dir: run as root, or set TSPOD_FIXTURES to a directory you own"
}

# Creates the tarball of DIR at DEST with fixed mtimes, sorted entries and
# member names without a leading ./ (as image layers have them).
tar_dir() {
  local dir=$1 dest=$2
  shift 2
  local entries
  mapfile -t entries < <(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort)
  tar --create --file="$dest" --directory="$dir" --format=gnu --sort=name \
    --numeric-owner --mtime="@$FIXTURE_EPOCH" "$@" -- "${entries[@]}"
}

build_busybox() {
  local name=busybox-rootfs.tar
  local dest=$out_dir/$name
  [ -x "$BUSYBOX" ] || die "$BUSYBOX not found: apt-get install busybox-static"
  if [ -f "$dest" ] && [ "$dest" -nt "$BUSYBOX" ] && [ "$dest" -nt "$self" ]; then
    say "fixture $name: up to date"
    return
  fi
  ensure_out_dir
  stage=$(mktemp -d "$out_dir/.busybox.XXXXXX")
  local rootfs=$stage/rootfs
  mkdir -p "$rootfs"/{bin,sbin,etc,tmp,root,home,var,usr/bin,usr/sbin,proc,sys,dev}
  chmod 1777 "$rootfs/tmp"
  chmod 0700 "$rootfs/root"
  install -m 0755 "$BUSYBOX" "$rootfs/bin/busybox"

  local applet dir target count=0
  while read -r applet; do
    dir=${applet%/*}
    # linuxrc is for initramfs images and has no place in a container.
    case $applet in bin/busybox | linuxrc | "$dir") continue ;; esac
    # Applets live in bin, sbin, usr/bin and usr/sbin.
    case $dir in
      bin) target=busybox ;;
      */*) target=../../bin/busybox ;;
      *) target=../bin/busybox ;;
    esac
    ln -sfn "$target" "$rootfs/$applet"
    count=$((count + 1))
  done < <("$BUSYBOX" --list-full)

  printf '%s\n' \
    'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    'tester:x:1000:1000:tester:/home/tester:/bin/sh' >"$rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tester:x:1000:' >"$rootfs/etc/group"

  tar_dir "$rootfs" "$stage/$name" --owner=0 --group=0
  # The tester's home is the one entry not owned by root, so tests can see
  # that a layer's non-root owners survive the trip through a user namespace.
  mkdir -m 0755 "$rootfs/home/tester"
  tar --append --file="$stage/$name" --directory="$rootfs" --format=gnu --numeric-owner \
    --owner=1000 --group=1000 --mtime="@$FIXTURE_EPOCH" --no-recursion home/tester

  chmod 0644 "$stage/$name"
  mv -f "$stage/$name" "$dest"
  rm -rf "$stage"
  stage=""
  say "fixture $name: built ($count applets, sha256 $(sha256sum "$dest" | cut -c1-12))"
}

build_debian() {
  local name=debian-bookworm-rootfs.tar
  local dest=$out_dir/$name
  if [ -f "$dest" ]; then
    say "fixture $name: up to date"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "$name needs root (debootstrap): run as root"
  command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
  ensure_out_dir
  say "fixture $name: debootstrap --variant=minbase bookworm from $mirror (takes minutes)"
  stage=$(mktemp -d "$out_dir/.debian.XXXXXX")
  local rootfs=$stage/rootfs log=$stage/debootstrap.log
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "debootstrap failed (output above)"
  fi
  # Device nodes cannot be created rootless and the runtime provides /dev
  # anyway; downloaded packages and indexes only add size.
  find "$rootfs/dev" "$rootfs/var/cache/apt/archives" "$rootfs/var/lib/apt/lists" \
    -mindepth 1 \( -type f -o -type c -o -type b -o -type p -o -type l \) -delete
  tar_dir "$rootfs" "$stage/$name"
  chmod 0644 "$stage/$name"
  mv -f "$stage/$name" "$dest"
  rm -rf "$stage"
  stage=""
  say "fixture $name: built ($(du -h "$dest" | cut -f1))"
}

build_busybox
if ((want_debian)); then
  build_debian
fi
