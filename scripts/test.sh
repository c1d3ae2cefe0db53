#!/usr/bin/env bash
# Runs tspod's whole test suite: makes sure setup is done, then the static
# checks, the unit tests and the end-to-end tests. Every step runs even when
# an earlier one failed, so one run shows everything that is wrong. The last
# line of output is "N passed, N failed" over all test points.
#
# Usage: scripts/test.sh   (as root, or as a user for whom setup is done)
# Environment:
#   TSPOD_USER           the unprivileged user the end-to-end tests run tspod as (default tspod)
#   TSPOD_TEST_REPORTER  tap reporter (default: base on a terminal, tap otherwise)
set -uo pipefail

case ${1:-} in
  "") ;;
  -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) printf 'test: unknown argument: %s (try --help)\n' "$1" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.." || exit 1
bin=node_modules/.bin

failed_steps=()
step() {
  local name=$1
  shift
  printf '==> %s\n' "$name"
  if ! "$@"; then
    failed_steps+=("$name")
  fi
}

check_generated() {
  if [ ! -f scripts/generate.mjs ]; then
    printf 'scripts/generate.mjs is missing: it should regenerate oclif.manifest.json and completions/\n' >&2
    return 1
  fi
  node scripts/generate.mjs --check
}

# Raw TAP goes to files for the closing count; the screen gets a readable
# report. On a terminal that is tap's base reporter; in a log its progress
# redraws are noise, so there the raw TAP is shown, with each file's stderr.
reporter=${TSPOD_TEST_REPORTER:-}
if [ -z "$reporter" ]; then
  if [ -t 1 ]; then reporter=base; else reporter=tap; fi
fi
results=.tap/raw
rm -rf "$results"
mkdir -p "$results"

# tap treats every script under a directory as a test file, helpers included,
# so only *.test.ts files are passed. With the tap reporter the raw TAP is
# the screen output itself; tap's --output-file would then print it twice.
run_tap() {
  local out=$results/$1 dir=$2 files
  mapfile -t files < <(find "$dir" -name '*.test.ts' | LC_ALL=C sort)
  if ((${#files[@]} == 0)); then
    printf 'no test files under %s\n' "$dir" >&2
    return 1
  fi
  if [ "$reporter" = tap ]; then
    "$bin/tap" --reporter=tap "${files[@]}" | tee "$out"
  else
    "$bin/tap" --reporter="$reporter" --output-file="$out" "${files[@]}"
  fi
}

export TSPOD_USER=${TSPOD_USER:-tspod}

step "setup (quick)" bash scripts/setup.sh --quick
step "typecheck: tsc --noEmit" "$bin/tsc" --noEmit
step "generated files: generate.mjs --check" check_generated
step "unit tests" run_tap unit.tap test/unit
# A missing prerequisite must fail an end-to-end test, never skip it.
TSPOD_TEST_STRICT=1 step "end-to-end tests" run_tap e2e.tap test/e2e

if ((${#failed_steps[@]})); then
  printf '\nFailed steps:\n'
  printf '  %s\n' "${failed_steps[@]}"
fi
node scripts/summary.mjs "$results/unit.tap" "$results/e2e.tap" || failed_steps+=("summary")
((${#failed_steps[@]} == 0))
