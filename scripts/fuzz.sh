#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each
# (default 5m): `make fuzz FUZZTIME=30s`. Go runs one fuzz target at a time,
# so targets are run one after another.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-5m}
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" || status=1
  done
done
exit $status
