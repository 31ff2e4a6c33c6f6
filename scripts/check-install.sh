#!/usr/bin/env bash
# Checks an installed mproc the two ways users consume it: CMake's
# find_package(mproc) and pkg-config. Both build tests/consumer and run it.
#
#   scripts/check-install.sh <install prefix>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(cd "${1:?usage: check-install.sh <prefix>}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
