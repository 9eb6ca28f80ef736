#!/bin/sh
# `make run`: validates every example, then runs each workflow in
# examples/workflows/ once with `picoflow run`, keeping state in .picoflow/
# so you can look at it afterwards:
#   build/picoflow --state-dir .picoflow status
#   build/picoflow --state-dir .picoflow logs fan-out
set -u
build=${1:-build}
state=${PICOFLOW_STATE_DIR:-.picoflow}
pf="$build/picoflow"

echo "== validating examples/"
"$pf" validate examples/*.yaml examples/workflows/*.yaml || exit 1
rc=0
for f in examples/workflows/*.yaml; do
	echo
	echo "== picoflow run $f"
	"$pf" --state-dir "$state" run --grace 2 "$f" || rc=1
done
echo
echo "== picoflow status"
"$pf" --state-dir "$state" status --limit 5
echo
echo "State is in $state/; try: $pf --state-dir $state history hello"
exit $rc
