#!/usr/bin/env bash
# Checks an installed mproc the two ways users consume it: CMake's
# find_package(mproc) and pkg-config. Both build tests/consumer and run it.
# With --mpi, checks mproc::mpi instead: find_package(mproc COMPONENTS mpi)
# gives the target, pkg-config mproc-mpi the flags, and tests/consumer_mpi
# built both ways runs under mpiexec (3 ranks). With MPROC_OTHER_MPICC (the
# other MPI's compiler wrapper), find_package must refuse that MPI at
# configure time, naming both. With --fetch, no install: tests/consumer_fetch
# takes this repository's HEAD into its own build with FetchContent.
#
#   scripts/check-install.sh [--mpi MPIEXEC] <install prefix>
#   scripts/check-install.sh --fetch <work dir>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${1:-} == --fetch ]]; then
  work=${2:?usage: check-install.sh --fetch <work dir>}
  rm -rf "$work"
  head=$(git -C "$root" rev-parse HEAD)
  echo "FetchContent(mproc GIT_REPOSITORY $root GIT_TAG ${head:0:12})"
  cmake -S "$root/tests/consumer_fetch" -B "$work" -DMPROC_GIT_REPOSITORY="$root" \
    -DMPROC_GIT_TAG="$head" >"$work.log" 2>&1 &&
    cmake --build "$work" -j "$(nproc)" >>"$work.log" 2>&1 ||
    { tail -n 30 "$work.log"; exit 1; }
  "$work/consumer"
  echo "fetch check: ok"
  exit 0
fi
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

  pcdir=$(dirname "$(find "$prefix" -name 'mproc-mpi.pc' | head -n 1)")
  echo "pkg-config mproc-mpi from $prefix (built with $(PKG_CONFIG_PATH=$pcdir \
    pkg-config --variable=mpi mproc-mpi))"
  # shellcheck disable=SC2046 # pkg-config's output is a list of flags
  PKG_CONFIG_PATH=$pcdir cc -o "$work/pc-consumer-mpi" "$root/tests/consumer_mpi/main.c" \
    ${MPROC_CONSUMER_FLAGS:-} $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags mproc-mpi) \
    $(PKG_CONFIG_PATH=$pcdir pkg-config --libs --static mproc-mpi)
  "$root/tests/mpi/run.sh" shm "$mpiexec" "$work/pc-consumer-mpi"

  if [[ -n ${MPROC_OTHER_MPICC:-} ]]; then
    echo "find_package(mproc COMPONENTS mpi) with another MPI ($MPROC_OTHER_MPICC): refused"
    if cmake -S "$root/tests/consumer_mpi" -B "$work/other" -DCMAKE_PREFIX_PATH="$prefix" \
      -DMPI_C_COMPILER="$MPROC_OTHER_MPICC" >"$work/other.log" 2>&1; then
      echo "configure succeeded with another MPI" >&2
      exit 1
    fi
    if ! grep -q "mproc::mpi was built with" "$work/other.log"; then
      cat "$work/other.log" >&2
      echo "the refusal does not name both MPIs" >&2
      exit 1
    fi
    grep -A3 "mproc::mpi was built with" "$work/other.log" | head -n 4
  fi
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
