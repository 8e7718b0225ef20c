#!/usr/bin/env bash
# `make run`: the first try. Builds the example images (from static Go
# binaries; nothing is pulled), then runs `berth up` on the examples/
# directory of this repository: one process with the server, an agent on the
# local Docker Engine and the template runner, its state in .berth/.
#
# Berth follows Git: up reads examples/ as committed at HEAD. Commit a change
# to examples/ (or point --repo at a repository of your own) to see it applied.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-images.sh
# The nginx-1 example mounts a host directory under /tmp/berth-examples:
# berth up allows no host path outside DATA-DIR/volumes unless told.
exec ./bin/berth up --repo . --path examples --data-dir .berth --allow-host-path /tmp/berth-examples "$@"
