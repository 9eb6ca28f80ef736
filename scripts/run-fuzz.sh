#!/bin/sh
# Runs each libFuzzer target for SECONDS, starting from its seed corpus in
# tests/fuzz/corpus/TARGET.  New interesting inputs go to
# build/fuzz/corpus/TARGET (copy the small ones into tests/fuzz/corpus to
# keep them); crashes go to build/fuzz/artifacts/ and fail the run.
#   usage: run-fuzz.sh BUILD_DIR SECONDS TARGET...
set -u
build=$1 secs=$2; shift 2
mkdir -p "$build/artifacts"
rc=0
for t in "$@"; do
	mkdir -p "$build/corpus/$t" "tests/fuzz/corpus/$t"
	echo "== fuzz_$t for ${secs}s"
	"$build/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$build/artifacts/$t-" \
	    "$build/corpus/$t" "tests/fuzz/corpus/$t" 2>"$build/fuzz-$t.log"
	r=$?
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY' \
	    "$build/fuzz-$t.log"
	[ $r = 0 ] || { echo "fuzz_$t FAILED (exit $r): see $build/fuzz-$t.log"; rc=1; }
done
exit $rc
