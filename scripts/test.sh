#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite (unit and end-to-end).
# Usage: bash scripts/test.sh            (as root on Debian 12, or with sudo available)
#        ARGUS_SANITIZE=1 bash scripts/test.sh   (AddressSanitizer + UBSan build)
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
cd "$dir"
ctest --output-on-failure -j2 --timeout 900
