#!/bin/sh
# make valgrind: the end-to-end suites with picoflow, pf-supervisor and
# (in the worker suite) pf-worker under valgrind's memcheck.  The suites find the binaries through PF_BUILD_DIR,
# so this points it at a directory of wrappers that exec valgrind on the
# real binaries; a memcheck error makes a wrapped program exit 99, which
# fails the test that ran it, and every log is checked at the end.
#   usage: valgrind-tests.sh BUILD_DIR SUITE...
set -u
build=$(cd "$1" && pwd); shift
wrap="$build/valgrind"
logs="$wrap/logs"
rm -rf "$wrap"
mkdir -p "$logs"
# A worker that drops to run_as (nobody) still writes its children's logs.
chmod 1777 "$logs"
vg="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
--error-exitcode=99 --track-fds=no --trace-children=no --log-file=$logs/%p.log"
for b in picoflow pf-supervisor; do
	cat > "$wrap/$b" <<EOW
#!/bin/sh
exec $vg "$build/$b" "\$@"
EOW
	chmod +x "$wrap/$b"
done
# Workers run under memcheck in the worker suite, through its harness;
# elsewhere they run natively, because memcheck slows process start-up
# past the timeouts the engine tests exercise.
ln -s "$build/pf-worker" "$wrap/pf-worker"
ln -s "$build/pf-worker-net" "$wrap/pf-worker-net"
# pf-loader runs natively too: its seccomp filter allows only the calls
# the loader itself makes, not memcheck's.
ln -s "$build/pf-loader" "$wrap/pf-loader"
# Memory bounds measured with getrusage mean nothing under valgrind.
export PF_UNDER_VALGRIND=1
rc=0
for t in "$@"; do
	case "$t" in
	*/test_worker)
		PF_TEST_WORKER_WRAPPER="$vg" \
		    "$(dirname "$0")/run-tests.sh" "$build" "$t" || rc=1 ;;
	*)
		PF_BUILD_DIR="$wrap" \
		    "$(dirname "$0")/run-tests.sh" "$build" "$t" || rc=1 ;;
	esac
done
bad=$(grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$logs"/*.log 2>/dev/null)
n=$(ls "$logs" | wc -l)
if [ -n "$bad" ]; then
	echo "valgrind: errors in:"; for f in $bad; do echo "  $f"; grep -m3 -A12 '^==[0-9]*== [A-Z]' "$f"; done
	rc=1
fi
echo "valgrind: $n process logs checked under $logs"
exit $rc
