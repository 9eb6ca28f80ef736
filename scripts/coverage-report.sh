#!/bin/sh
# Prints line and branch coverage per source directory (common/,
# supervisor/, worker/, cli/, web/ when present) and in all, from the
# .gcda files a --coverage build's test run left in BUILD_DIR; the table
# also goes to BUILD_DIR/summary.txt and the full per-file report to
# BUILD_DIR/coverage.txt.
#   usage: coverage-report.sh BUILD_DIR
set -eu
cd "$(dirname "$0")/.."
B=${1:?usage: coverage-report.sh BUILD_DIR}
command -v gcovr >/dev/null || { echo "coverage-report: gcovr is missing (scripts/install-deps.sh cover)" >&2; exit 2; }
dirs=""
for d in common supervisor cli worker web; do
	[ -d "$d" ] && dirs="$dirs $d"
done
# One JSON pass over the objects; the table is summed from it.
gcovr --root . --object-directory "$B/obj" --exclude 'tests/' \
    --exclude 'bench/' --json "$B/coverage.json" -s >/dev/null
gcovr --root . --add-tracefile "$B/coverage.json" --txt "$B/coverage.txt" \
    --txt-metric branch >/dev/null 2>&1 || \
    gcovr --root . --add-tracefile "$B/coverage.json" -b > "$B/coverage.txt"
/usr/bin/python3 - "$B/coverage.json" $dirs <<'PY' | tee "$B/summary.txt"
import json, sys
data = json.load(open(sys.argv[1]))
dirs = sys.argv[2:]
tot = {d: [0, 0, 0, 0] for d in dirs + ["all"]}
for f in data["files"]:
    top = f["file"].split("/")[0]
    for key in ([top] if top in tot else []) + ["all"]:
        t = tot[key]
        for ln in f["lines"]:
            if ln.get("gcovr/noncode"):
                continue
            t[0] += 1
            t[1] += ln["count"] > 0
            for br in ln.get("branches", []):
                t[2] += 1
                t[3] += br["count"] > 0
print("%-12s %8s %8s %9s %8s" % ("directory", "lines", "covered", "branches", "taken"))
for d in dirs + ["all"]:
    t = tot[d]
    lp = 100.0 * t[1] / t[0] if t[0] else 0
    bp = 100.0 * t[3] / t[2] if t[2] else 0
    print("%-12s %8d %7.1f%% %9d %7.1f%%" % (d + ("/" if d != "all" else ""), t[0], lp, t[2], bp))
PY
