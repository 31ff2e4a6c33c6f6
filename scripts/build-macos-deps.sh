#!/usr/bin/env bash
# Builds mproc's dependencies for macOS with Zig's C compiler - CMocka and
# msgpack-c, from Debian's own source packages - and installs them as
# static archives into <dir>/<target>. HMAC and random bytes come from the
# OS itself on Apple (CommonCrypto, getentropy), so there is no libcrypto
# to build. A stamp file makes a second run a no-op.
#
#   scripts/build-macos-deps.sh <dir> <zig-bin> aarch64-macos|x86_64-macos
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

dir=${1:?usage: build-macos-deps.sh <dir> <zig-bin> <target>}
zig_bin=${2:?usage: build-macos-deps.sh <dir> <zig-bin> <target>}
target=${3:?usage: build-macos-deps.sh <dir> <zig-bin> <target>}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
prefix=$dir/$target
stamp=$prefix/.mproc-macos-deps-v1
if [[ -f $stamp ]]; then
  echo "macos-deps: cached in $prefix"
  exit 0
fi

src=$dir/src
if [[ ! -f $src/.fetched ]]; then
  mproc_enable_deb_src
  rm -rf "$src"
  mkdir -p "$src"
  mproc_fetch_sources "$src" cmocka msgpack-c
  touch "$src/.fetched"
fi

rm -rf "$prefix"
mac=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/macos-zig.cmake" -DMPROC_ZIG_TARGET="$target"
  -DMPROC_ZIG_BIN="$zig_bin" -DMPROC_MACOS_DEPS_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -Wno-dev)
mproc_build_cmake_dep "$src" cmocka "$dir/build-cmocka-$target" "$prefix" "${mac[@]}" \
  -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF -DWITH_STATIC_LIB=ON
# Static links only: CMocka's shared library would be taken first.
rm -f "$prefix"/lib/libcmocka*.dylib
mproc_build_cmake_dep "$src" msgpack-c "$dir/build-msgpack-c-$target" "$prefix" "${mac[@]}" \
  -DMSGPACK_BUILD_TESTS=OFF -DMSGPACK_BUILD_EXAMPLES=OFF

touch "$stamp"
echo "macos-deps: built into $prefix"
