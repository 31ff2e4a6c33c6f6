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
(cd "$src" && apt-get source --download-only cmocka msgpack-c >/dev/null)
for tarball in "$src"/cmocka_*.orig.tar.?z "$src"/msgpack-c_*.orig.tar.?z; do
  tar -xf "$tarball" -C "$src"
done

build_one() {
  local name=$1
  shift
  local srcdir
  srcdir=$(find "$src" -maxdepth 1 -type d -name "$name-*" | head -n 1)
  [[ -n $srcdir ]] || { echo "win-deps: no source for $name" >&2; exit 1; }
  cmake -S "$srcdir" -B "$dir/build-$name" -G "Unix Makefiles" \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_CROSSCOMPILING_EMULATOR= "$@" >/dev/null
  cmake --build "$dir/build-$name" -j "$(nproc)" >/dev/null
  cmake --install "$dir/build-$name" >/dev/null
}

build_one cmocka -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF -DWITH_STATIC_LIB=ON
build_one msgpack-c -DMSGPACK_BUILD_TESTS=OFF -DMSGPACK_BUILD_EXAMPLES=OFF

touch "$stamp"
echo "win-deps: built into $prefix"
