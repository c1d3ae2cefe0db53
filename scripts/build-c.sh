#!/usr/bin/env bash
# Builds the C programs of src/monitor into build/ at the repository root.
# A program is src/monitor/tspod-NAME.c together with its src/monitor/NAME-*.c
# files, and becomes build/tspod-NAME. CC, CFLAGS and LDFLAGS are honoured.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/src/monitor
out=$root/build
cc=${CC:-cc}

if ! command -v "${cc%% *}" >/dev/null 2>&1; then
  echo "Error: build-c: C compiler \"${cc%% *}\" not found: install one (as root: apt-get install gcc) or set CC" >&2
  exit 1
fi

mkdir -p "$out"
shopt -s nullglob
tmp=
trap '[[ -n $tmp ]] && rm -f "$tmp"' EXIT

for main in "$src"/tspod-*.c; do
  prog=$(basename "$main" .c)
  name=${prog#tspod-}
  # Build beside the target and rename: a running helper is never overwritten in place.
  tmp=$out/.$prog.tmp.$$
  # Linked statically: one monitor stays resident per running container, and
  # glibc's shared mappings alone would double its RSS (about 1.5 MiB dynamic,
  # 0.7 MiB static, measured). Set TSPOD_DYNAMIC=1 to link dynamically.
  static=-static
  [[ ${TSPOD_DYNAMIC:-} == 1 ]] && static=
  # tspod-seccomp compiles profiles with libseccomp, as the runtimes do.
  libs=
  [[ $name == seccomp ]] && libs=-lseccomp
  # shellcheck disable=SC2086 # CC, CFLAGS and LDFLAGS may hold several words
  $cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE ${CFLAGS:-} $static -o "$tmp" "$main" "$src/$name"-*.c ${LDFLAGS:-} $libs
  mv -f "$tmp" "$out/$prog"
  tmp=
done
