#!/usr/bin/env bash
# Installs what is missing, builds mproc in Release, runs the examples, and
# prints the start+join latency of each start method next to the bare system
# calls (min / median / max over 200 children).
#
#   scripts/demo.sh            (MPROC_BUILD_DIR overrides ./build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
mproc_install_packages "${MPROC_LINUX_PACKAGES[@]}" "${MPROC_BENCH_PACKAGES[@]}"

dir=${MPROC_BUILD_DIR:-$root/build}/demo
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" >/dev/null

for ex in process_names process_args process_subclass data_isolation daemon_flag; do
  echo "--- examples/$ex.c"
  "$dir/examples/$ex"
done

# A handful of the tutorial programs; all of them are in examples/tutorials/
# (docs/from-python.md walks through each).
for t in vamei_pipe lock_tickets motw_queue_consumers manager_dict_list motw_pool_initializer; do
  echo "--- examples/tutorials/$t.c"
  "$dir/examples/tutorial_$t"
done
echo "(the other tutorial programs: $dir/examples/tutorial_*; see docs/from-python.md)"

echo
echo "--- mproc-bench start (tools/mproc-bench; docs/mproc-bench.md)"
"$dir/tools/mproc-bench/mproc-bench" start --floors --parent-mem 0,64M,256M --runs 10 \
  --safety --safety-trials 20 --progress none --plot "$dir/mproc-bench-start.svg"
echo "(the picture: $dir/mproc-bench-start.svg)"

echo
echo "--- bench/start_latency.c"
"$dir/bench/bench_start_latency" 200

echo
echo "--- bench/conn_bench.c"
"$dir/bench/bench_conn" 1
echo
echo "--- bench/shm_bench.c"
"$dir/bench/bench_shm" 1

echo
echo "--- bench/sync_bench.c"
"$dir/bench/bench_sync" 1

echo
echo "--- bench/queue_bench.c"
"$dir/bench/bench_queue" 1

echo
echo "--- bench/pool_bench.c"
"$dir/bench/bench_pool" 1

echo
echo "--- bench/manager_bench.c"
"$dir/bench/bench_manager" 1
