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
# The newest source version first; if a mirror lacks it (an index ahead of
# its pool), the next one.
fetch_source() {
  local v
  for v in $(apt-cache showsrc "$1" | awk '/^Version:/ {print $2}' | sort -rV | uniq); do
    (cd "$src" && apt-get source --download-only "$1=$v" >/dev/null 2>&1) && return 0
  done
  echo "musl-deps: cannot fetch the source of $1" >&2
  return 1
}
for pkg in cmocka msgpack-c openssl; do
  fetch_source "$pkg"
done
for tarball in "$src"/cmocka_*.orig.tar.?z "$src"/msgpack-c_*.orig.tar.?z \
  "$src"/openssl_*.orig.tar.?z; do
  tar -xf "$tarball" -C "$src"
done

build_one() {
  local name=$1
  shift
  local srcdir
  srcdir=$(find "$src" -maxdepth 1 -type d -name "$name-*" | head -n 1)
  [[ -n $srcdir ]] || { echo "musl-deps: no source for $name" >&2; exit 1; }
  cmake -S "$srcdir" -B "$dir/build-$name" -G "Unix Makefiles" \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DMPROC_MUSL_DEPS_PREFIX="$prefix" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    "$@" >/dev/null
  cmake --build "$dir/build-$name" -j "$(nproc)" >/dev/null
  cmake --install "$dir/build-$name" >/dev/null
}

build_one cmocka -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF -DWITH_STATIC_LIB=ON
# Static links only: CMocka's shared library would be taken first.
rm -f "$prefix"/lib/libcmocka.so*
build_one msgpack-c -DMSGPACK_BUILD_TESTS=OFF -DMSGPACK_BUILD_EXAMPLES=OFF

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
