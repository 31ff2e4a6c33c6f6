#!/usr/bin/env bash
# Builds mproc's dependencies with musl (Debian's musl-tools) - CMocka,
# msgpack-c and OpenSSL's libcrypto - from Debian's own source packages,
# and installs them as static, position-independent archives into
# <dir>/prefix, with links to the Linux
# kernel headers musl-gcc does not search (linux/, asm/, asm-generic/).
# Nothing is downloaded from anywhere but Debian's archive. A stamp file
# makes a second run a no-op.
#
#   scripts/build-musl-deps.sh <dir>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dir=${1:?usage: build-musl-deps.sh <dir>}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
prefix=$dir/prefix
stamp=$prefix/.mproc-musl-deps-v3
toolchain=$root/cmake/musl-x86_64.cmake

if [[ -f $stamp ]]; then
  echo "musl-deps: cached in $prefix"
  exit 0
fi

# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
mproc_enable_deb_src

rm -rf "$prefix"
mkdir -p "$prefix/include" "$prefix/lib"
arch_headers=/usr/include/$(gcc -print-multiarch)
ln -s /usr/include/linux "$prefix/include/linux"
ln -s /usr/include/asm-generic "$prefix/include/asm-generic"
ln -s "$arch_headers/asm" "$prefix/include/asm"

src=$dir/src
rm -rf "$src"
mkdir -p "$src"
mproc_fetch_sources "$src" cmocka msgpack-c openssl

musl=(-DCMAKE_TOOLCHAIN_FILE="$toolchain" -DMPROC_MUSL_DEPS_PREFIX="$prefix"
  -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON)
mproc_build_cmake_dep "$src" cmocka "$dir/build-cmocka" "$prefix" "${musl[@]}" \
  -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF -DWITH_STATIC_LIB=ON
# Static links only: CMocka's shared library would be taken first.
rm -f "$prefix"/lib/libcmocka.so*
mproc_build_cmake_dep "$src" msgpack-c "$dir/build-msgpack-c" "$prefix" "${musl[@]}" \
  -DMSGPACK_BUILD_TESTS=OFF -DMSGPACK_BUILD_EXAMPLES=OFF

# libcrypto only, and only what it must have: mproc uses HMAC-SHA256 and
# the random generator. no-async: musl has no makecontext.
ossl=$(find "$src" -maxdepth 1 -type d -name "openssl-*" | head -n 1)
[[ -n $ossl ]] || { echo "musl-deps: no source for openssl" >&2; exit 1; }
(
  cd "$ossl"
  CC="musl-gcc -isystem $prefix/include" ./Configure linux-x86_64 --prefix="$prefix" \
    --libdir=lib no-shared no-tests no-async no-engine no-afalgeng \
    no-dso no-comp no-ssl3 no-tls1 no-tls1_1 no-dtls no-srp no-psk no-ct no-ocsp \
    no-cms no-ts no-idea no-seed no-rc2 no-rc4 no-rc5 no-md4 no-mdc2 no-whirlpool \
    no-camellia no-aria no-sm2 no-sm3 no-sm4 no-des no-bf no-cast no-siphash \
    no-blake2 no-chacha no-poly1305 no-ocb no-scrypt no-gost >/dev/null
  make -j "$(nproc)" build_libs >/dev/null
  make install_dev >/dev/null
)

touch "$stamp"
echo "musl-deps: built into $prefix"
