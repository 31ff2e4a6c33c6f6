#!/usr/bin/env bash
# Checks an installed mproc the two ways users consume it: CMake's
# find_package(mproc) and pkg-config. Both build tests/consumer and run it.
# With --mpi, checks mproc::mpi instead: find_package(mproc) gives the
# target, and tests/consumer_mpi runs under mpiexec (3 ranks).
#
#   scripts/check-install.sh [--mpi MPIEXEC] <install prefix>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mpiexec=
if [[ ${1:-} == --mpi ]]; then
  mpiexec=${2:?usage: check-install.sh --mpi MPIEXEC <prefix>}
  shift 2
fi
prefix=$(cd "${1:?usage: check-install.sh [--mpi MPIEXEC] <prefix>}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -n $mpiexec ]]; then
  echo "find_package(mproc) -> mproc::mpi from $prefix"
  # MPROC_CONSUMER_FLAGS: what a sanitized static install needs at the
  # consumer's link (-fsanitize=...).
  cmake -S "$root/tests/consumer_mpi" -B "$work/mpi" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="${MPROC_CONSUMER_FLAGS:-}" >/dev/null
  cmake --build "$work/mpi" >/dev/null
  "$root/tests/mpi/run.sh" shm "$mpiexec" "$work/mpi/consumer_mpi"
  echo "install check: ok"
  exit 0
fi
libdir=$(dirname "$(find "$prefix" -name 'mproc.pc' | head -n 1)")/..

echo "find_package(mproc) from $prefix"
cmake -S "$root/tests/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"

echo "pkg-config mproc from $prefix"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -o "$work/pc-consumer" "$root/tests/consumer/main.c" $(pkg-config --cflags mproc) \
  $(pkg-config --libs --static mproc)
LD_LIBRARY_PATH="$libdir" "$work/pc-consumer"
echo "install check: ok"
