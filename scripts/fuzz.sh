#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs each for a
# bounded time on a scratch copy of its seed corpus (the checked-in corpus never grows).
# Usage: bash scripts/fuzz.sh [target...]      (default: every fuzz/fuzz_*.cpp)
#   FUZZ_SECONDS=30    seconds per target (-max_total_time)
#   FUZZ_JOBS=2        parallel build jobs
# Exits non-zero if any target crashes, leaks, times out or runs out of memory; the
# input that did it is kept under build-fuzz/fuzz-artifacts/<target>/ and named below.
# Reproduce with: build-fuzz/fuzz/<target> <that file>
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-30}
dir=build-fuzz

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (bash scripts/setup.sh installs clang and libclang-rt-14-dev)" >&2
  exit 2
fi

start=$(date +%s)
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DARGUS_FUZZ=ON -DARGUS_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$dir" -j "${FUZZ_JOBS:-2}" "${targets[@]}"
echo "fuzz: build took $(( $(date +%s) - start ))s"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/argus-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$scratch/$t"
  artifacts="$root/$dir/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "fuzz/corpus/$t" ]; then cp -r "fuzz/corpus/$t/." "$corpus/"; fi
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$artifacts/")
  if [ -f "fuzz/$t.dict" ]; then args+=(-dict="fuzz/$t.dict"); fi
  log="$scratch/$t.log"
  echo "fuzz: $t for ${seconds}s"
  rc=0
  "$dir/fuzz/$t" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    # libFuzzer's report (sanitizer stack, "Test unit written to ..."), without the progress lines.
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$log" | tail -60 >&2
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    failed+=("$t")
    summary+=("$t: FAILED (exit $rc) after ${execs:-?} executions; input: ${input:-none written}")
  else
    summary+=("$t: ok, ${execs:-?} executions, corpus $(find "$corpus" -type f | wc -l) inputs")
  fi
done

echo "fuzz: results (${seconds}s per target, $(( $(date +%s) - start ))s in all)"
for line in "${summary[@]}"; do echo "  $line"; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (reproduce: $dir/fuzz/<target> <input>)" >&2
  exit 1
fi
