#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite (unit and end-to-end).
# Usage: bash scripts/test.sh            (as root on Debian 12, or with sudo available)
#        ARGUS_SANITIZE=1 bash scripts/test.sh   (AddressSanitizer + UBSan build)
# After the tests, the fuzz targets run for FUZZ_SECONDS each (scripts/fuzz.sh; default
# 30, 0 skips them); not in the ARGUS_SANITIZE run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=build
extra=()
if [ "${ARGUS_SANITIZE:-0}" = "1" ]; then
  dir=build-asan
  extra=(-DARGUS_SANITIZE=ON)
fi
bash scripts/build.sh "$dir" RelWithDebInfo "${extra[@]}"
(cd "$dir" && ctest --output-on-failure -j2 --timeout 900)
if [ "${ARGUS_SANITIZE:-0}" != "1" ] && [ "${FUZZ_SECONDS:-30}" != "0" ]; then
  bash scripts/fuzz.sh
fi
