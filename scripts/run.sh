#!/usr/bin/env bash
# Installs what is needed, builds in release mode, and starts `argus serve` on its embedded
# defaults (SQLite under ./data, listening on 0.0.0.0:8080) with the demo camera of
# config/demo.yaml (Debian's vtest.avi pedestrians, replayed in a loop). Extra arguments go
# to `argus serve`, e.g. `bash scripts/run.sh --log-format text`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build-release Release -DARGUS_BUILD_TESTS=OFF
exec ./build-release/argus serve --config config/demo.yaml "$@"
