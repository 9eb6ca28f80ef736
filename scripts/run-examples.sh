#!/bin/sh
# `make run`: validates every example, then starts pf-supervisor in the
# foreground on examples/workflows/ with its state in .picoflow/.  The
# schedules fire within seconds; Ctrl-C stops it cleanly (running tasks
# get a few seconds to finish).  In another terminal:
#   build/picoflow --state-dir .picoflow daemon status
#   build/picoflow --state-dir .picoflow history hello
#   build/picoflow --state-dir .picoflow logs health-check
#   build/picoflow --state-dir .picoflow trigger flaky
set -u
build=${1:-build}
state=${PICOFLOW_STATE_DIR:-.picoflow}
pf="$build/picoflow"

echo "== validating examples/"
"$pf" validate examples/*.yaml examples/workflows/*.yaml >/dev/null || exit 1
"$build/pf-supervisor" -n -c examples/workflows || exit 1
cat <<MSG

== starting pf-supervisor on examples/workflows (state in $state/)
   Runs appear below as their schedules fire.  In another terminal try:
     $pf --state-dir $state daemon status
     $pf --state-dir $state status --limit 5
     $pf --state-dir $state history hello
     $pf --state-dir $state logs data-pipeline
     $pf --state-dir $state trigger flaky
   Ctrl-C stops the supervisor.

MSG
exec "$build/pf-supervisor" -c examples/workflows --state-dir "$state" \
    --stop-timeout 5 --grace 2
