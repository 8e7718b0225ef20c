#!/usr/bin/env bash
# Runs the randomized fault soak (e2e/soak) for $1 (a Go duration, default
# 10m) with seed $2 (random when empty), and prints its report last: the
# fault count, the violation count, the convergence time and each violation.
# Exits 0 only when the soak found no violation. The history file it names
# stays in ${BERTH_SOAK_DIR:-soak-out}.
set -uo pipefail
duration=${1:-10m}
seed=${2:-}
dir=${BERTH_SOAK_DIR:-$(pwd)/soak-out}
mkdir -p "$dir"
summary=$(mktemp)
log="$dir/soak-$(date -u +%Y%m%dT%H%M%S).log"
trap 'rm -f "$summary"' EXIT
# The go test deadline is the soak, plus the cluster's start, the
# convergence limit and the clean-up (20 minutes); durations other than
# plain seconds, minutes or hours get three hours.
case "$duration" in
*h) minutes=$(( ${duration%h} * 60 + 20 )) ;;
*m) minutes=$(( ${duration%m} + 20 )) ;;
*s) minutes=$(( ${duration%s} / 60 + 21 )) ;;
*) minutes=180 ;;
esac
BERTH_SOAK="$duration" BERTH_SOAK_SEED="$seed" BERTH_SOAK_DIR="$dir" BERTH_SOAK_SUMMARY="$summary" \
	go test -count=1 -timeout "${minutes}m" -run '^TestSoak$' -v ./e2e/soak/ 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
echo "log: $log"
if [ -s "$summary" ]; then
	cat "$summary"
else
	echo "the soak did not finish: see $log"
	code=1
fi
exit "$code"
