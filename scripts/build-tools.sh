#!/usr/bin/env bash
# Builds the Go tools the project runs but does not link: Consul and
# consul-template (real peers for integration tests) and staticcheck. They live
# in tools/go.mod, a module of their own, so their dependency graphs stay out of
# Berth's go.mod. Binaries go to .tools/bin and are rebuilt only when
# tools/go.sum changes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BERTH_TOOLS_BIN:-$PWD/.tools/bin}
mkdir -p "$out"
stamp="$out/.stamp"
sum=$(sha256sum tools/go.mod tools/go.sum | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
  exit 0
fi
export GONOSUMDB=${GONOSUMDB:-github.com/hashicorp}
export GOFLAGS=-mod=mod
tools=$(sed -n 's/^tool[[:space:]]\+//p' tools/go.mod)
for t in $tools; do
  name=$(basename "$t")
  echo "build-tools: $name"
  go build -C tools -o "$out/$name" "$t"
done
echo "$sum" > "$stamp"
