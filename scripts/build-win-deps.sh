#!/usr/bin/env bash
# Builds the Windows (MinGW-w64) versions of mproc's dependencies, CMocka and
# msgpack-c, from Debian's own source packages, and installs them into
# <dir>/prefix. Nothing is downloaded from anywhere but Debian's archive.
# A stamp file makes a second run a no-op.
#
#   scripts/build-win-deps.sh <dir>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dir=${1:?usage: build-win-deps.sh <dir>}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
prefix=$dir/prefix
stamp=$prefix/.mproc-win-deps-v2
toolchain=$root/cmake/mingw-w64-x86_64.cmake

if [[ -f $stamp ]]; then
  echo "win-deps: cached in $prefix"
  exit 0
fi

# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
mproc_enable_deb_src

src=$dir/src
rm -rf "$src"
mkdir -p "$src"
mproc_fetch_sources "$src" cmocka msgpack-c

win=(-DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_CROSSCOMPILING_EMULATOR=)
mproc_build_cmake_dep "$src" cmocka "$dir/build-cmocka" "$prefix" "${win[@]}" \
  -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF -DWITH_STATIC_LIB=ON
mproc_build_cmake_dep "$src" msgpack-c "$dir/build-msgpack-c" "$prefix" "${win[@]}" \
  -DMSGPACK_BUILD_TESTS=OFF -DMSGPACK_BUILD_EXAMPLES=OFF

touch "$stamp"
echo "win-deps: built into $prefix"
