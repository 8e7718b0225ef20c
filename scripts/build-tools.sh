#!/usr/bin/env bash
# Builds the Go tools the project runs but does not link: Consul and
# consul-template (real peers for integration tests) and staticcheck. Each
# lives in a module of its own under tools/ (declared with `tool` directives),
# so their dependency graphs stay out of Berth's go.mod and out of each other's
# (consul-template needs a newer consul/api than the Consul server it tests
# against). Binaries go to .tools/bin; a module is rebuilt only when its
# go.mod/go.sum change.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BERTH_TOOLS_BIN:-$PWD/.tools/bin}
mkdir -p "$out"
export GONOSUMDB=${GONOSUMDB:-github.com/hashicorp}
for mod in tools/*/; do
  mod=${mod%/}
  name=$(basename "$mod")
  stamp="$out/.$name.stamp"
  sum=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -d' ' -f1)
  if [ -x "$out/$name" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    continue
  fi
  # The tool paths, from either `tool x` lines or a `tool ( ... )` block.
  for t in $(awk '/^tool \(/{b=1;next} b&&/^\)/{b=0} b{print $1} /^tool [^(]/{print $2}' "$mod/go.mod"); do
    echo "build-tools: $(basename "$t") (from $mod)"
    go build -C "$mod" -o "$out/$(basename "$t")" "$t"
  done
  echo "$sum" > "$stamp"
done
