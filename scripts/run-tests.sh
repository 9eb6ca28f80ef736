#!/bin/sh
# Runs Criterion test binaries one after another, shows their output, and
# ends with one summary line.  Exits non-zero if any suite fails or crashes.
#   usage: run-tests.sh BUILD_DIR TEST_BINARY...
#   PF_TEST_JOBS   parallel jobs inside a suite (default: Criterion's)
#   PF_TEST_FILTER Criterion --filter pattern
set -u
build=$1; shift
[ $# -gt 0 ] || { echo "run-tests: no test binaries" >&2; exit 1; }

# Where the suites find the binaries (valgrind-tests.sh points it at wrappers).
export PF_BUILD_DIR="${PF_BUILD_DIR:-$(cd "$build" && pwd)}"
export PF_SRC_DIR="$(pwd)"
[ -d ../shared ] && export PF_SHARED_DIR="$(cd ../shared && pwd)"

total=0 pass=0 fail=0 crash=0 bad_suites=""
log=$(mktemp)
tap=$(mktemp)
trap 'rm -f "$log" "$tap"' EXIT
skipped=0
for t in "$@"; do
	name=${t#"$build"/tests/}
	echo "== $name"
	: > "$tap"
	set -- --timeout 300 --tap="$tap"
	[ -n "${PF_TEST_JOBS:-}" ] && set -- "$@" --jobs "$PF_TEST_JOBS"
	[ -n "${PF_TEST_FILTER:-}" ] && set -- "$@" --filter "$PF_TEST_FILTER"
	"$t" "$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	# Criterion leaves skipped tests out of its synthesis: say each one.
	n=$(grep -c '# SKIP' "$tap" 2>/dev/null)
	if [ "${n:-0}" -gt 0 ]; then
		grep '# SKIP' "$tap" | sed 's/^ok - /[SKIPPED] /; s/  # SKIP /: /'
		skipped=$((skipped + n))
	fi
	line=$(grep 'Synthesis:' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "run-tests: $name printed no synthesis (exit $rc)"
		bad_suites="$bad_suites $name"
		crash=$((crash + 1))
		continue
	fi
	# [====] Synthesis: Tested: 7 | Passing: 7 | Failing: 0 | Crashing: 0
	set -- $(echo "$line" | sed 's/[^0-9]/ /g')
	total=$((total + $1)); pass=$((pass + $2))
	fail=$((fail + $3)); crash=$((crash + $4))
	if [ "$rc" != 0 ] || [ "$3" != 0 ] || [ "$4" != 0 ]; then
		bad_suites="$bad_suites $name"
	fi
done
echo
[ -n "$bad_suites" ] && echo "failing suites:$bad_suites"
echo "tests: $pass passed, $((fail + crash)) failed, $skipped skipped"
[ -z "$bad_suites" ]
