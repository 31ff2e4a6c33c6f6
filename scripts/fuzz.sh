#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (clang, AddressSanitizer and
# UndefinedBehaviorSanitizer), replays each seed corpus, then fuzzes each
# harness for SECONDS (default 30) from a scratch copy of its seeds. Prints
# one line per harness, "[fuzz-NAME] ok ..." or "[fuzz-NAME] FAILED ...";
# a crashing input is kept under <build>/fuzz/artifacts. Exits non-zero if
# any harness failed. For a long hunt: scripts/fuzz.sh 3600 manager
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]      (MPROC_BUILD_DIR overrides ./build)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
mproc_install_packages "${MPROC_LINUX_PACKAGES[@]}" || exit 1

dir=${MPROC_BUILD_DIR:-$root/build}/fuzz
mkdir -p "$dir"
seconds=${1:-30}
shift || true
harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  harnesses=(args objects bootstrap conn handshake manager)
fi

cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMPROC_SANITIZE=address,undefined -DMPROC_BUILD_FUZZERS=ON -DMPROC_WERROR=ON \
  -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF -DMPROC_BUILD_TOOLS=OFF \
  >"$dir/configure.log" 2>&1 || { echo "[fuzz-build] FAILED (configure)"; exit 1; }
cmake --build "$dir" -j "$(nproc)" >"$dir/build.log" 2>&1 ||
  { echo "[fuzz-build] FAILED"; tail -n 30 "$dir/build.log"; exit 1; }

status=0
mkdir -p "$dir/artifacts"
for h in "${harnesses[@]}"; do
  bin=$dir/tests/fuzz/fuzz_$h
  seeds=$root/tests/fuzz/corpus/$h
  work=$dir/work/$h
  log=$dir/$h.log
  rm -rf "$work"
  mkdir -p "$work"
  # The seeds first, alone: a regression of any of them fails at once.
  if "$bin" -runs=0 "$seeds" >"$log" 2>&1 &&
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/$h-" "$work" "$seeds" >>"$log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n 1)
    echo "[fuzz-$h] ok: ${runs:-?} inputs in ${seconds} s"
  else
    status=1
    echo "[fuzz-$h] FAILED (log: $log)"
    grep -E -A12 'ERROR|runtime error|FUZZ_ASSERT|==[0-9]+==' "$log" | head -n 40
  fi
done
exit $status
