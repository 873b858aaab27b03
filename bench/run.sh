#!/usr/bin/env bash
# The one entry point for Argus benchmarks. See bench/README.md.
#
#   bash bench/run.sh            # every benchmark (same as `all`)
#   bash bench/run.sh http       # HTTP: GET /api/v1/cameras vs nginx and FastAPI
#   bash bench/run.sh analyze    # argus analyze vtest.avi vs real time and a plain OpenCV loop
#   bash bench/run.sh memory     # RSS of argus serve replaying the demo camera for 30 minutes
#   bash bench/run.sh fanout     # 1k/5k/10k WebSocket subscribers vs MQTT subscribers on Mosquitto
#   bash bench/run.sh list       # names of the benchmarks
#   DURATION=30 REPEAT=3 bash bench/run.sh http
#
# Each benchmark starts its own baselines in the same run and prints its ratios against them;
# results also go to bench/results/<name>.json (gitignored). The release build happens once
# here, then every benchmark runs with SKIP_BUILD=1. SKIP_SETUP=1 skips scripts/setup.sh
# (which needs root or sudo to install missing Debian packages).
#
# The machine is shared and noisy: compare ratios from one run, not absolute figures across
# runs, and use REPEAT=N (median of N) for numbers you want to quote.
#
# Adding a benchmark: write bench/<name>.{sh,py}, add a bench_<name> function below that runs
# it through run_child, and add <name> to BENCHMARKS.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHMARKS=(http analyze memory fanout)
PYTHON=/usr/bin/python3
BUILD_DIR=${BUILD_DIR:-build-release}
export BUILD_DIR

child=""
# Runs one benchmark as a background child and waits for it, so that SIGTERM/SIGINT sent to
# this script reach the child, which then stops every process it started before exiting.
run_child() {
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  # wait returns early (status > 128) when a trapped signal arrives: wait for the cleanup.
  while kill -0 "$child" 2>/dev/null; do wait "$child" || rc=$?; done
  child=""
  return "$rc"
}
forward() {
  # Always TERM: background children of a non-interactive shell ignore SIGINT.
  if [ -n "$child" ]; then kill -s TERM "$child" 2>/dev/null || true; fi
  interrupted=$1
}
interrupted=""
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward HUP' HUP

bench_http() {
  run_child "$PYTHON" bench/http_cameras.py
}

bench_analyze() {
  run_child bash bench/analyze.sh
}

bench_memory() {
  run_child "$PYTHON" bench/memory.py
}

bench_fanout() {
  run_child bash bench/fanout.sh
}

usage() {
  echo "usage: bash bench/run.sh [all|list|${BENCHMARKS[*]// /|}]" >&2
}

selected=()
if [ $# -eq 0 ]; then set -- all; fi
for arg in "$@"; do
  case "$arg" in
    all) selected+=("${BENCHMARKS[@]}") ;;
    list) printf '%s\n' "${BENCHMARKS[@]}"; exit 0 ;;
    -h|--help|help) usage; exit 0 ;;
    *)
      if [[ " ${BENCHMARKS[*]} " == *" $arg "* ]]; then
        selected+=("$arg")
      else
        echo "bench/run.sh: unknown benchmark '$arg'" >&2; usage; exit 2
      fi
      ;;
  esac
done

if [ "${SKIP_SETUP:-0}" != "1" ]; then
  bash scripts/setup.sh >&2
fi
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  echo "[bench] building: bash scripts/build.sh $BUILD_DIR Release -DARGUS_BUILD_TESTS=OFF" >&2
  # In the foreground, so that Ctrl-C reaches ninja and the compilers directly.
  bash scripts/build.sh "$BUILD_DIR" Release -DARGUS_BUILD_TESTS=OFF >&2
fi
export SKIP_BUILD=1

status=0
for name in "${selected[@]}"; do
  [ -n "$interrupted" ] && break
  echo "[bench] === $name ===" >&2
  rc=0
  "bench_$name" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "[bench] $name failed (status $rc)" >&2
    status=$rc
  fi
done
if [ -n "$interrupted" ]; then
  echo "[bench] interrupted (SIG$interrupted)" >&2
  exit 130
fi
exit "$status"
