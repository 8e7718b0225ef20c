#!/usr/bin/env bash
# Builds the images `make run` and the tests use (berth/web:dev, berth/job:dev,
# berth/shell:dev) from static binaries on an empty base: nothing is pulled.
# Safe to run again: images built from the same sources are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./testenv/cmd/buildimages
