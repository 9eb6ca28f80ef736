#!/bin/sh
# make bench: measures PicoFlow against references taken in the same run
# and writes docs/benchmarks.md (the figures of issue #15, each next to its
# reference and its goal).  These machines are shared and noisy: the
# contenders of one workload run in interleaved rounds (A B C A B C ...),
# every figure is a median, and ratios matter more than absolute numbers.
#   usage: bench/run.sh [BUILD_DIR]
#   BENCH_RUNS           rounds of the 1,000-task workloads and idle RSS (3)
#   BENCH_ONE_RUNS       one-task runs and process starts (20)
#   BENCH_SCALE_TASKS    tasks of the scale run (10000)
#   BENCH_SCALE_RUNS     scale runs (1; each 10,000-task run takes a minute)
#   BENCH_CRON_WORKFLOWS workflows firing every second (100)
#   BENCH_CRON_SECONDS   how long the supervisor is watched (30)
#   BENCH_OUT            output file (docs/benchmarks.md)
# Runs as root (tasks in cgroups; pf-supervisor's tasks as nobody) or as a
# normal user (isolation as the host allows).  Every process it starts is
# stopped and every file it writes outside BENCH_OUT removed, on failure too.
set -eu
build=${1:-build}
runs=${BENCH_RUNS:-3}
one_runs=${BENCH_ONE_RUNS:-20}
scale_n=${BENCH_SCALE_TASKS:-10000}
scale_runs=${BENCH_SCALE_RUNS:-1}
cron_wfs=${BENCH_CRON_WORKFLOWS:-100}
cron_secs=${BENCH_CRON_SECONDS:-30}
out=${BENCH_OUT:-docs/benchmarks.md}
for v in "$runs" "$one_runs" "$scale_n" "$scale_runs" "$cron_wfs" "$cron_secs"; do
	case $v in
	''|*[!0-9]*|0) echo "bench: BENCH_* settings must be positive whole numbers" >&2; exit 2 ;;
	esac
done
[ -d "$build" ] || { echo "bench: no build directory $build" >&2; exit 2; }
build=$(cd "$build" && pwd)
for b in picoflow pf-supervisor pf-worker pf-worker-net pf-loader \
    bench/spawn_floor bench/load_bench bench/timeit bench/scale_run \
    bench/idle_floor; do
	[ -x "$build/$b" ] || { echo "bench: $build/$b is not built" >&2; exit 2; }
done
for p in ninja make python3 sqlite3 strip; do
	command -v $p >/dev/null 2>&1 || { echo "bench: needs $p (scripts/install-deps.sh bench)" >&2; exit 2; }
done
# make -j2 below must not join the jobserver of the make that runs us.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
N=1000
py=/usr/bin/python3
[ -x "$py" ] || py=python3
pf="$build/picoflow"
timeit="$build/bench/timeit"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d /tmp/pf-bench-XXXXXX)
bg=""		# background processes still running

# stop_pid PID: SIGTERM, 10 s to exit, then SIGKILL; reaps it.
stop_pid() {
	i=0
	kill -TERM "$1" 2>/dev/null || :
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
	bg=$(echo "$bg" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ' || :)
}
cleanup() {
	for p in $bg; do stop_pid "$p"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {	# fail MESSAGE [LOG]: says why, shows the log's end, exits
	echo "bench: $1" >&2
	[ $# -lt 2 ] || tail -n 30 "$2" >&2 || :
	exit 1
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
col() { awk -v c="$1" '{print $c}' "$2" | median; }
# calc EXPR A B: awk arithmetic on two figures, "n/a" when one is missing.
calc() {
	awk -v a="$2" -v b="$3" "BEGIN { if (a == \"n/a\" || b == \"n/a\" || a == \"\" || b == \"\") { print \"n/a\"; exit } $1 }"
}
ratio() { calc 'if (b > 0) printf "%.2f", a / b; else print "n/a"' "$1" "$2"; }
ms() { calc 'printf "%.1f", a * 1000' "$1" 0; }
s3() { calc 'printf "%.3f", a' "$1" 0; }
# verdict VALUE LIMIT: "met" or "missed by F×" (VALUE/LIMIT) for "≤ LIMIT" goals.
verdict() {
	calc 'if (a <= b) print "met"; else printf "**missed**, %.2f× the goal\n", a / b' "$1" "$2"
}
waitfor() {	# waitfor PID FILE PATTERN: until FILE has PATTERN (60 s)
	i=0
	until grep -q "$3" "$2" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$1" 2>/dev/null; then
			fail "$2: never said '$3'" "$2"
		fi
		sleep 0.1
	done
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# --- workloads -----------------------------------------------------------
gen_wf() {	# gen_wf FILE NAME TASKS chain|independent [SCHEDULE]
	awk -v name="$2" -v n="$3" -v kind="$4" -v sched="${5:-}" 'BEGIN {
		print "name: " name
		if (sched != "") print "schedule: \"" sched "\""
		print "config: {max_parallel: 2, retry_default: 0}"
		print "tasks:"
		for (i = 0; i < n; i++)
			if (kind == "chain" && i > 0)
				printf "  - {name: t%d, type: shell, depends_on: [t%d], config: {command: /bin/true}}\n", i, i - 1
			else
				printf "  - {name: t%d, type: shell, config: {command: /bin/true}}\n", i
	}' > "$1"
}
gen_ninja() {	# gen_ninja FILE chain|independent
	awk -v n=$N -v kind="$2" 'BEGIN {
		print "rule t"
		print "  command = /bin/true"
		for (i = 0; i < n; i++)
			if (kind == "chain" && i > 0)
				printf "build o%d: t || o%d\n", i, i - 1
			else
				printf "build o%d: t\n", i
	}' > "$1"
}
gen_make() {	# gen_make FILE chain|independent: phony targets, always run
	awk -v n=$N -v kind="$2" 'BEGIN {
		printf ".PHONY: all"
		for (i = 0; i < n; i++) printf " o%d", i
		printf "\nall:"
		for (i = 0; i < n; i++) printf " o%d", i
		printf "\n"
		for (i = 0; i < n; i++) {
			if (kind == "chain" && i > 0)
				printf "o%d: o%d\n", i, i - 1
			else
				printf "o%d:\n", i
			printf "\t/bin/true\n"
		}
	}' > "$1"
}
for kind in independent chain; do
	gen_wf "$tmp/$kind.yaml" "bench-$kind" $N $kind
	gen_ninja "$tmp/$kind.ninja" $kind
	gen_make "$tmp/$kind.mk" $kind
done
gen_wf "$tmp/one.yaml" bench-one 1 independent

# --- 1,000 tasks: every contender once per round --------------------------
# pf_once FILE WF [OPTS...]: one picoflow run, fresh database;
# appends "wall engine_s peak_rss_kb p50_us p99_us" to FILE.
pf_once() {
	f=$1 wf=$2
	shift 2
	rm -f "$tmp/db" "$tmp/db-wal" "$tmp/db-shm"
	w=$("$timeit" -o "$tmp/pf.json" "$pf" --db-path "$tmp/db" run --json \
	    "$@" "$tmp/$wf.yaml" 2>>"$tmp/stderr.log") ||
		fail "picoflow run $* $wf failed" "$tmp/stderr.log"
	"$py" - "$tmp/pf.json" "$w" >> "$f" <<'PY' || fail "picoflow run $wf: bad summary"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "success", d["status"]
lat = sorted(t["start_latency_us"] for t in d["tasks"] if "start_latency_us" in t)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else -1
print("%s %.3f %d %d %d" % (sys.argv[2], d["seconds"], d["peak_rss_kb"], p(0.50), p(0.99)))
PY
}
# ref_once FILE DIR CMD...: one timed run of a reference in DIR.
ref_once() {
	f=$1 d=$2
	shift 2
	( cd "$d" && "$timeit" "$@" ) >> "$f" 2>>"$tmp/stderr.log" ||
		fail "$* failed" "$tmp/stderr.log"
}
mkdir "$tmp/ninja" "$tmp/make"
echo "bench: 1,000 tasks, $runs interleaved rounds" >&2
r=0
while [ $r -lt "$runs" ]; do
	pf_once "$tmp/r.pf-ind" independent
	pf_once "$tmp/r.pf-ind-normal" independent --sync normal
	pf_once "$tmp/r.pf-ind-nocg" independent --no-cgroups
	pf_once "$tmp/r.pf-ind-both" independent --sync normal --no-cgroups
	ref_once "$tmp/r.ninja-ind" "$tmp/ninja" ninja -j2 -f "$tmp/independent.ninja"
	ref_once "$tmp/r.make-ind" "$tmp/make" make -r -R -s -j2 -f "$tmp/independent.mk"
	ref_once "$tmp/r.floor-ind" "$tmp" "$build/bench/spawn_floor" $N 2 spawn
	pf_once "$tmp/r.pf-chain" chain
	pf_once "$tmp/r.pf-chain-both" chain --sync normal --no-cgroups
	ref_once "$tmp/r.ninja-chain" "$tmp/ninja" ninja -j2 -f "$tmp/chain.ninja"
	ref_once "$tmp/r.make-chain" "$tmp/make" make -r -R -s -j2 -f "$tmp/chain.mk"
	ref_once "$tmp/r.floor-chain" "$tmp" "$build/bench/spawn_floor" $N 1 spawn
	r=$((r + 1))
	echo "bench:   round $r done" >&2
done

# --- one task; process starts ----------------------------------------------
echo "bench: one-task runs and process starts, $one_runs each" >&2
# The database exists already, as it would for anyone who ran before.
"$pf" --db-path "$tmp/one.db" run "$tmp/one.yaml" >/dev/null 2>>"$tmp/stderr.log" ||
	fail "picoflow run of one task failed" "$tmp/stderr.log"
i=0
while [ $i -lt "$one_runs" ]; do
	ref_once "$tmp/r.one-pf" "$tmp" "$pf" --db-path "$tmp/one.db" run "$tmp/one.yaml"
	ref_once "$tmp/r.one-true" "$tmp" /bin/true
	ref_once "$tmp/r.start-worker" "$tmp" "$build/pf-worker" -V
	ref_once "$tmp/r.start-worker-net" "$tmp" "$build/pf-worker-net" -V
	i=$((i + 1))
done

# --- scale: the same engine with the load limits raised --------------------
echo "bench: scale, $scale_n tasks, $scale_runs run(s)" >&2
gen_wf "$tmp/scale.yaml" bench-scale "$scale_n" independent
# scale_once FILE WF: "wall engine_s peak_rss_kb p50 p99 cpu_s" of one scale_run.
scale_once() {
	rm -f "$tmp/db" "$tmp/db-wal" "$tmp/db-shm"
	w=$("$timeit" -o "$tmp/scale.out" "$build/bench/scale_run" "$tmp/db" \
	    "$tmp/$2.yaml" 2>>"$tmp/stderr.log") ||
		fail "scale_run $2 failed" "$tmp/stderr.log"
	awk -v w="$w" '{print w, $2, $3, $4, $5, $7}' "$tmp/scale.out" >> "$1"
}
# The 1,000-task run before and after each big one: the load on a shared
# machine changes within a minute, and the two together see what it saw.
r=0
while [ $r -lt "$scale_runs" ]; do
	scale_once "$tmp/r.scale-1k" independent
	scale_once "$tmp/r.scale-big" scale
	scale_once "$tmp/r.scale-1k" independent
	r=$((r + 1))
done

# --- pf-supervisor idle, against a bare libev + SQLite process -----------
echo "bench: idle memory, $runs rounds" >&2
mkdir "$tmp/idle" "$tmp/cron"
gen_wf "$tmp/idle/idle.yaml" bench-idle 1 independent "0 0 3 * * *"
isolation=$("$build/pf-supervisor" -n -c "$tmp/idle" 2>&1 | sed -n 's/^.*isolation: //p' | head -n 1)
r=0
while [ $r -lt "$runs" ]; do
	rm -rf "$tmp/idle-st" "$tmp/floor.db"*
	"$build/pf-supervisor" -c "$tmp/idle" --state-dir "$tmp/idle-st" \
	    > "$tmp/idle.log" 2>&1 &
	sup=$!
	bg="$bg $sup"
	"$build/bench/idle_floor" "$tmp/floor.db" > "$tmp/floor.log" 2>&1 &
	flo=$!
	bg="$bg $flo"
	waitfor $sup "$tmp/idle.log" 'info: ready: '
	waitfor $flo "$tmp/floor.log" '^ready'
	sleep 1
	echo "$(status_kb $sup VmRSS) $(status_kb $sup RssAnon) $(status_kb $flo VmRSS) $(status_kb $flo RssAnon)" >> "$tmp/r.idle"
	stop_pid $sup
	stop_pid $flo
	r=$((r + 1))
done

# --- many workflows firing every second -----------------------------------
echo "bench: $cron_wfs workflows firing every second, $cron_secs s" >&2
i=0
while [ $i -lt "$cron_wfs" ]; do
	gen_wf "$tmp/cron/w$i.yaml" "bench-cron-$i" 1 independent "* * * * * *"
	i=$((i + 1))
done
"$build/pf-supervisor" -c "$tmp/cron" --state-dir "$tmp/cron-st" \
    > "$tmp/cron.log" 2>&1 &
sup=$!
bg="$bg $sup"
waitfor $sup "$tmp/cron.log" 'info: ready: '
sleep 3		# the first fires and their workers' start-up
hz=$(getconf CLK_TCK)
# /proc/PID/stat: utime stime cutime cstime are fields 14-17 (comm has no blank).
cpu() { awk '{print $14 + $15, $16 + $17}' "/proc/$sup/stat"; }
t0=$(date +%s%3N); c0=$(cpu)
# In the background, so that a signal to us is acted on at once.
sleep "$cron_secs" &
slp=$!
bg="$bg $slp"
wait $slp
bg=$(echo "$bg" | tr ' ' '\n' | grep -vx "$slp" | tr '\n' ' ' || :)
t1=$(date +%s%3N); c1=$(cpu)
sleep 3		# the last fires' runs end
cron_hwm=$(status_kb $sup VmHWM)
cron_rss=$(status_kb $sup VmRSS)
stop_pid $sup
db="$tmp/cron-st/picoflow.db"
q="FROM run_meta m JOIN executions e ON e.id = m.execution_id WHERE m.scheduled_ms >= $t0 AND m.scheduled_ms < $t1"
cron_fired=$(sqlite3 -readonly "$db" "SELECT count(*) $q")
cron_ok=$(sqlite3 -readonly "$db" "SELECT count(*) $q AND e.status = 'success'")
cron_skips=$(grep -c ' skipped: ' "$tmp/cron.log" || :)
# The commonest reason, its numbers blanked so that alike reasons count together.
cron_why=$(sed -n 's/^.* skipped: //p' "$tmp/cron.log" | sed 's/[0-9][0-9]*/N/g' |
    sort | uniq -c | sort -rn | awk 'NR == 1 {$1 = ""; sub(/^ /, ""); print}')
cron_user=$(sed -n "s/^.*info: tasks without run_as run as //p" "$tmp/cron.log" | head -n 1)
# shellcheck disable=SC2086 # two figures each
set -- $c0 $c1
cron_cpu=$(awk -v a="$1" -v b="$3" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.1f", (b - a) / hz / ((t1 - t0) / 1000) * 100}')
cron_ccpu=$(awk -v a="$2" -v b="$4" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.1f", (b - a) / hz / ((t1 - t0) / 1000) * 100}')
cron_win=$(awk -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.1f", (t1 - t0) / 1000}')
# Each whole second in [t0, t1) is one fire of every workflow.
cron_expect=$(awk -v t0="$t0" -v t1="$t1" -v n="$cron_wfs" 'BEGIN {
	a = int((t0 + 999) / 1000); b = int((t1 - 1) / 1000); print n * (b - a + 1) }')

# --- load -----------------------------------------------------------------
echo "bench: load times" >&2
for n in 100 1000 10000; do
	"$build/bench/load_bench" $n 9 >> "$tmp/load"
	"$build/bench/load_bench" $n 9 loader >> "$tmp/load-loader"
done

# --- sizes ------------------------------------------------------------------
: > "$tmp/sizes"
for b in picoflow pf-supervisor pf-worker pf-worker-net pf-loader; do
	strip -o "$tmp/$b.stripped" "$build/$b"
	echo "$b $(stat -c %s "$build/$b") $(stat -c %s "$tmp/$b.stripped")" >> "$tmp/sizes"
done
size_of() { awk -v b="$1" '$1 == b {print $3}' "$tmp/sizes"; }

# --- the page ----------------------------------------------------------------
w_pf_ind=$(col 1 "$tmp/r.pf-ind"); w_pf_ind_normal=$(col 1 "$tmp/r.pf-ind-normal")
w_pf_ind_nocg=$(col 1 "$tmp/r.pf-ind-nocg"); w_pf_ind_both=$(col 1 "$tmp/r.pf-ind-both")
w_pf_chain=$(col 1 "$tmp/r.pf-chain"); w_pf_chain_both=$(col 1 "$tmp/r.pf-chain-both")
nj_ind=$(median < "$tmp/r.ninja-ind"); nj_chain=$(median < "$tmp/r.ninja-chain")
mk_ind=$(median < "$tmp/r.make-ind"); mk_chain=$(median < "$tmp/r.make-chain")
fl_ind=$(median < "$tmp/r.floor-ind"); fl_chain=$(median < "$tmp/r.floor-chain")
p50=$(col 4 "$tmp/r.pf-ind"); p99=$(col 5 "$tmp/r.pf-ind")
peak=$(col 3 "$tmp/r.pf-ind")
one_pf=$(median < "$tmp/r.one-pf"); one_true=$(median < "$tmp/r.one-true")
least() { sort -n "$1" | head -n 1; }
st_w=$(median < "$tmp/r.start-worker"); st_wn=$(median < "$tmp/r.start-worker-net")
idle_rss=$(col 1 "$tmp/r.idle"); idle_anon=$(col 2 "$tmp/r.idle")
floor_rss=$(col 3 "$tmp/r.idle"); floor_anon=$(col 4 "$tmp/r.idle")
mean() { awk -v c="$1" '{s += $c} END {if (NR) printf "%.3f", s / NR; else print "n/a"}' "$2"; }
s1_w=$(mean 1 "$tmp/r.scale-1k"); s1_peak=$(col 3 "$tmp/r.scale-1k")
sb_w=$(col 1 "$tmp/r.scale-big"); sb_peak=$(col 3 "$tmp/r.scale-big")
sb_p50=$(col 4 "$tmp/r.scale-big"); sb_p99=$(col 5 "$tmp/r.scale-big")
s1_pt=$(calc 'printf "%.2f", a * 1000 / b' "$s1_w" $N)
sb_pt=$(calc 'printf "%.2f", a * 1000 / b' "$sb_w" "$scale_n")
lin_t=$(ratio "$sb_pt" "$s1_pt")
s1_cpt=$(calc 'printf "%.3f", a * 1000 / b' "$(mean 6 "$tmp/r.scale-1k")" $N)
sb_cpt=$(calc 'printf "%.3f", a * 1000 / b' "$(col 6 "$tmp/r.scale-big")" "$scale_n")
lin_c=$(ratio "$sb_cpt" "$s1_cpt")
kib_task=$(awk -v a="$s1_peak" -v b="$sb_peak" -v n="$scale_n" -v m=$N 'BEGIN {printf "%.2f", (b - a) / (n - m)}')
cost_sync=$(calc 'printf "%.2f", a - b' "$w_pf_ind" "$w_pf_ind_normal")
cost_cg=$(calc 'printf "%.2f", a - b' "$w_pf_ind" "$w_pf_ind_nocg")
lin_m=$(calc 'printf "%.2f", a / b' "$sb_peak" "$s1_peak")
lin_m_max=$(calc 'printf "%.2f", a / b' "$scale_n" $N)
row() {	# row LABEL PF NINJA MAKE FLOOR
	echo "| $1 | $(s3 "$2") | $(s3 "$3") | $(s3 "$4") | $(s3 "$5") | $(ratio "$2" "$3") | $(ratio "$2" "$5") |"
}
cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
fs=$(df -PT "$tmp" | awk 'NR == 2 {print $2 " on " $1}')
who=$(id -un)
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` (bench/run.sh; BENCH_RUNS=$runs, BENCH_ONE_RUNS=$one_runs, BENCH_SCALE_RUNS=$scale_runs)."
	echo "Machine: $(uname -srm), $(nproc) cores ($cpu_model), $mem; temporary files and databases on $fs; run as $who."
	echo "Isolation: $isolation."
	echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ). Medians of $runs rounds unless noted; in each round every contender of a workload runs once, in turn, so that load from other work on the machine falls on all of them alike."
	echo "Shared, noisy virtual machines (load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end): compare the ratios, which are measured in the same run."
	echo
	echo "## Goals (issue #15)"
	echo
	echo "| goal | measured | verdict |"
	echo "|---|---|---|"
	echo "| 1,000 independent tasks ≤ 1.0× ninja -j2 | $(ratio "$w_pf_ind" "$nj_ind")× | $(verdict "$(ratio "$w_pf_ind" "$nj_ind")" 1.0) |"
	echo "| 1,000 independent tasks ≤ 2× the posix_spawn floor | $(ratio "$w_pf_ind" "$fl_ind")× | $(verdict "$(ratio "$w_pf_ind" "$fl_ind")" 2) |"
	echo "| 1,000-task chain ≤ 1.0× ninja -j2 | $(ratio "$w_pf_chain" "$nj_chain")× | $(verdict "$(ratio "$w_pf_chain" "$nj_chain")" 1.0) |"
	echo "| 1,000-task chain ≤ 2× the posix_spawn floor | $(ratio "$w_pf_chain" "$fl_chain")× | $(verdict "$(ratio "$w_pf_chain" "$fl_chain")" 2) |"
	echo "| start latency p50 ≤ 1 ms | $(calc 'printf "%.2f", a / 1000' "$p50" 0) ms | $(verdict "$p50" 1000) |"
	echo "| start latency p99 ≤ 5 ms | $(calc 'printf "%.2f", a / 1000' "$p99" 0) ms | $(verdict "$p99" 5000) |"
	echo "| one-task \`picoflow run\` ≤ 10 ms | $(ms "$one_pf") ms | $(verdict "$one_pf" 0.010) |"
	echo "| peak RSS during the 1,000-task run ≤ 4 MiB | $peak KiB | $(verdict "$peak" 4096) |"
	echo "| pf-supervisor idle RSS ≤ 1.1× the bare-process floor | $idle_rss KiB, $(ratio "$idle_rss" "$floor_rss")× | $(verdict "$(ratio "$idle_rss" "$floor_rss")" 1.1) |"
	echo "| pf-supervisor idle anonymous RSS ≤ 512 KiB | $idle_anon KiB | $(verdict "$idle_anon" 512) |"
	echo "| pf-supervisor stripped ≤ 200 KiB | $(calc 'printf "%.0f", a / 1024' "$(size_of pf-supervisor)" 0) KiB | $(verdict "$(size_of pf-supervisor)" 204800) |"
	echo "| pf-worker stripped ≤ 100 KiB | $(calc 'printf "%.0f", a / 1024' "$(size_of pf-worker)" 0) KiB | $(verdict "$(size_of pf-worker)" 102400) |"
	echo "| $scale_n tasks in linear time (per-task time ≤ 1.2× the 1,000-task run's) | $lin_t× (the engine's own CPU per task: $lin_c×) | $(verdict "$lin_t" 1.2) |"
	echo "| $scale_n tasks in linear memory (peak RSS ≤ $lin_m_max× the 1,000-task run's) | $lin_m× | $(verdict "$lin_m" "$lin_m_max") |"
	echo "| $cron_wfs workflows firing every second: supervisor < 5% of a core | $cron_cpu% | $(verdict "$cron_cpu" 5) |"
	echo
	echo "A verdict compares this run's median with the goal; \"missed\" says by what factor. Where a goal is missed, why is for the profile (perf, strace) to show; the per-task costs below say where the time goes."
	echo
	echo "## Running 1,000 \`/bin/true\` tasks, 2 at a time"
	echo
	echo "Commands, on generated files of the same DAG (1,000 independent tasks, or a chain where each depends on the one before):"
	echo
	echo "- \`picoflow --db-path DB run --json [OPTIONS] FILE.yaml\` (max_parallel 2, a fresh database each run): each task a fresh pf-worker, in its own cgroup, that starts \`/bin/true\`; every state change fsynced unless \`--sync normal\`."
	echo "- \`ninja -j2 -f FILE.ninja\`: ninja runs each command through /bin/sh."
	echo "- \`make -r -R -s -j2 -f FILE.mk\`: phony targets, so every one runs; make execs \`/bin/true\` directly (no shell metacharacters)."
	echo "- \`bench/spawn_floor 1000 2 spawn\` (\`1000 1\` for the chain, which never has two ready): posix_spawn of \`/bin/true\`, 2 in flight, nothing else."
	echo
	echo "Each wall time is from the command's start to its exit (\`bench/timeit\`), start-up and loading included."
	echo
	echo "| workload | picoflow s | ninja -j2 s | make -j2 s | floor s | picoflow / ninja | picoflow / floor |"
	echo "|---|---|---|---|---|---|---|"
	row "independent, defaults" "$w_pf_ind" "$nj_ind" "$mk_ind" "$fl_ind"
	row "independent, \`--sync normal\`" "$w_pf_ind_normal" "$nj_ind" "$mk_ind" "$fl_ind"
	row "independent, \`--no-cgroups\`" "$w_pf_ind_nocg" "$nj_ind" "$mk_ind" "$fl_ind"
	row "independent, \`--sync normal --no-cgroups\`" "$w_pf_ind_both" "$nj_ind" "$mk_ind" "$fl_ind"
	row "chain, defaults" "$w_pf_chain" "$nj_chain" "$mk_chain" "$fl_chain"
	row "chain, \`--sync normal --no-cgroups\`" "$w_pf_chain_both" "$nj_chain" "$mk_chain" "$fl_chain"
	echo
	echo "| workload | start latency p50 µs | p99 µs | peak RSS KiB |"
	echo "|---|---|---|---|"
	for k in ind ind-normal ind-nocg ind-both chain chain-both; do
		case $k in
		ind) l="independent, defaults" ;;
		ind-normal) l="independent, \`--sync normal\`" ;;
		ind-nocg) l="independent, \`--no-cgroups\`" ;;
		ind-both) l="independent, \`--sync normal --no-cgroups\`" ;;
		chain) l="chain, defaults" ;;
		chain-both) l="chain, \`--sync normal --no-cgroups\`" ;;
		esac
		echo "| $l | $(col 4 "$tmp/r.pf-$k") | $(col 5 "$tmp/r.pf-$k") | $(col 3 "$tmp/r.pf-$k") |"
	done
	echo
	echo "Durable commits (\`--sync full\`, the default, against \`--sync normal\`) cost $cost_sync s per 1,000 tasks in this run and per-task cgroups (against \`--no-cgroups\`) $cost_cg s. By default every state change is fsynced before it is acted on; \`--sync normal\` keeps crash safety against kill -9 but not against power loss. Each task costs two process starts (pf-worker, then the command), the floor one."
	echo
	echo "Start latency is from the engine's dispatch of a task to the worker's STARTED message, which it sends once the task's exec has succeeded (it includes starting pf-worker): the median over the rounds of each run's p50 and p99."
	echo "Peak RSS is the VmHWM of the process running the engine (\`picoflow run\`) at the end of the run; it includes SQLite's page cache and the recorded output."
	echo
	echo "## One task; starting a process"
	echo
	echo "Commands: \`bench/timeit CMD\`, $one_runs times each, interleaved; medians. \`picoflow run\` of a one-task workflow (\`/bin/true\`) with defaults, against a database that exists already; the reference is a bare posix_spawn of \`/bin/true\` waited for. The worker rows start each worker to print its version: what a task pays before its set-up begins."
	echo
	echo "| command | median ms | min ms |"
	echo "|---|---|---|"
	echo "| \`picoflow --db-path DB run one.yaml\` | $(ms "$one_pf") | $(ms "$(least "$tmp/r.one-pf")") |"
	echo "| posix_spawn of \`/bin/true\` | $(ms "$one_true") | $(ms "$(least "$tmp/r.one-true")") |"
	echo "| \`pf-worker -V\` (shell tasks: libc and libseccomp) | $(ms "$st_w") | $(ms "$(least "$tmp/r.start-worker")") |"
	echo "| \`pf-worker-net -V\` (ssh and http tasks: adds libcurl and libssh2) | $(ms "$st_wn") | $(ms "$(least "$tmp/r.start-worker-net")") |"
	echo
	echo "## Memory of pf-supervisor"
	echo
	echo "Commands: \`pf-supervisor -c DIR --state-dir STATE\` with one workflow (one task, a daily schedule) and, at the same time, \`bench/idle_floor DB\`: a process linking what pf-supervisor links (libev and SQLite), that opens a database in WAL mode and idles in ev_run. Both are read from /proc/PID/status about 1 s after they are ready; medians of $runs starts."
	echo
	echo "| process | VmRSS KiB | RssAnon KiB |"
	echo "|---|---|---|"
	echo "| pf-supervisor, one workflow loaded | $idle_rss | $idle_anon |"
	echo "| bench/idle_floor | $floor_rss | $floor_anon |"
	echo
	echo "## Scale"
	echo
	echo "### One run of $scale_n tasks"
	echo
	echo "Command: \`bench/scale_run DB FILE\`, \`picoflow run\`'s engine, store and pf-worker with picoflow run's defaults, but the load limits raised (a workflow file may have 1,000 tasks and 1 MiB, docs/workflow-format.md, and picoflow run has no option to raise them); $scale_n independent \`/bin/true\` tasks, max_parallel 2, a fresh database; the 1,000-task run of the same program just before and just after each big run (its wall time is the mean of those, the rest medians). $scale_runs big run(s)."
	echo
	echo "| tasks | wall s | ms per task | engine CPU ms per task | peak RSS KiB | start latency p50 / p99 µs |"
	echo "|---|---|---|---|---|---|"
	echo "| $N | $(s3 "$s1_w") | $s1_pt | $s1_cpt | $s1_peak | $(col 4 "$tmp/r.scale-1k") / $(col 5 "$tmp/r.scale-1k") |"
	echo "| $scale_n | $(s3 "$sb_w") | $sb_pt | $sb_cpt | $sb_peak | $sb_p50 / $sb_p99 |"
	echo
	echo "Per-task wall time at $scale_n tasks is $lin_t× that at $N, and the engine process's own CPU time (user + system, workers not counted) per task $lin_c×; the peak resident set grows by $kib_task KiB per task beyond the first $N."
	echo
	echo "### $cron_wfs workflows firing every second"
	echo
	echo "Command: \`pf-supervisor -c DIR --state-dir STATE\` (defaults: --max-tasks 32, 4 runs in flight per workflow) with $cron_wfs workflows, each \`schedule: \"* * * * * *\"\` (seconds first, docs/cron.md) and one \`/bin/true\` task, watched for $cron_win s after a 3 s warm-up. CPU is utime + stime from /proc/PID/stat over the window, as a share of one core; its children (workers, and the tasks they reaped) are counted apart. A fire is counted when its scheduled second falls in the window; completed means the run ended \`success\` within 3 s after it."
	echo
	echo "| pf-supervisor CPU | its children's CPU | runs expected | fired | completed | fires skipped | VmRSS / VmHWM KiB at the end |"
	echo "|---|---|---|---|---|---|---|"
	echo "| $cron_cpu% | $cron_ccpu% | $cron_expect | $cron_fired | $cron_ok | $cron_skips | $cron_rss / $cron_hwm |"
	echo
	echo "Fires skipped are counted over the supervisor's whole life (warm-up and drain included)${cron_why:+; the commonest reason: \"$cron_why\"}.${cron_user:+ Its tasks ran as $cron_user.}"
	echo
	echo "## Loading and validating a workflow"
	echo
	echo "Command: \`bench/load_bench N 9\`: a generated workflow of N shell tasks, each depending on up to two earlier ones; YAML parse, every check, DAG order and levels. Median and minimum of 9 loads. \"via pf-loader\" (\`bench/load_bench N 9 loader\`) is pf-supervisor's way: the file read, pf-loader started and confined, the model encoded, framed, decoded and checked again (start-up, SIGHUP, \`-n\`); \`picoflow validate\`/\`run\` load in-process."
	echo
	echo "| tasks | file bytes | median ms | min ms | µs per task | via pf-loader median ms | min ms |"
	echo "|---|---|---|---|---|---|---|"
	paste -d' ' "$tmp/load" "$tmp/load-loader" | awk '{printf "| %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", $1, $4, $2, $3, $2 * 1000 / $1, $6, $7}'
	echo
	echo "Loads happen at start-up and on reload, never per task."
	echo
	echo "## Binary sizes"
	echo
	echo "Command: \`stat -c %s\` of each binary as built (\`make\`, -O2 -g) and of a copy stripped with \`strip -o\`."
	echo
	echo "| binary | bytes | stripped bytes | stripped KiB |"
	echo "|---|---|---|---|"
	awk '{printf "| %s | %d | %d | %.0f |\n", $1, $2, $3, $3 / 1024}' "$tmp/sizes"
} > "$tmp/page"
cp "$tmp/page" "$out"
cat "$out"
