# Shared helpers for scripts/test.sh, scripts/demo.sh and scripts/build-win-deps.sh.
# Sourced, not run.

# Debian packages every leg needs. Kept in one list so demo and test agree.
# libapr1-dev is a peer in bench/sync_bench.c only, never linked into mproc.
MPROC_LINUX_PACKAGES=(cmake make gcc clang libclang-rt-14-dev pkg-config
  libmsgpack-dev libcmocka-dev libssl-dev xz-utils libapr1-dev)
# The benchmarks' Python peer (multiprocessing is in python3's standard library).
MPROC_BENCH_PACKAGES=(python3)
MPROC_WINDOWS_PACKAGES=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 wine)

mproc_sudo() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2
    return 1
  fi
}

mproc_apt_updated=0
mproc_apt_update() {
  if [[ $mproc_apt_updated -eq 0 ]]; then
    mproc_sudo apt-get update -q >/dev/null
    mproc_apt_updated=1
  fi
}

# Installs the named Debian packages that are not installed yet.
mproc_install_packages() {
  local missing=() p native
  native=$(dpkg --print-architecture)
  for p in "$@"; do
    # A name without ":arch" means the machine's own architecture (or "all"):
    # dpkg-query also lists another architecture's package of that name, and
    # libmsgpack-dev:i386 (the 32-bit leg's) is not the one a native build needs.
    [[ $p == *:* ]] || p+=":$native"
    dpkg-query -W -f='${Status} ${Architecture}\n' "${p%:*}" 2>/dev/null |
      grep -qx "install ok installed \(${p##*:}\|all\)" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "installing: ${missing[*]}"
  mproc_apt_update
  mproc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    "${missing[@]}" >/dev/null
}

# apt-get source needs deb-src entries; Debian 12 images ship only "Types: deb"
# stanzas in deb822 format. Add a copy of them as deb-src, once.
mproc_enable_deb_src() {
  local list=/etc/apt/sources.list.d/mproc-deb-src.sources
  if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    local src=/etc/apt/sources.list.d/debian.sources
    [[ -f $src ]] || { echo "no $src to derive deb-src entries from" >&2; return 1; }
    sed 's/^Types: deb$/Types: deb-src/' "$src" | mproc_sudo tee "$list" >/dev/null
    mproc_apt_updated=0
  fi
  mproc_apt_update
}

# mproc_fetch_sources DIR PACKAGE...: downloads and unpacks each package's
# upstream source from Debian's archive into DIR (DIR/<name>-<version>/).
# The newest version first; if a mirror lacks it (an index ahead of its
# pool), the next one.
mproc_fetch_sources() {
  local dir=$1 pkg v tarball
  shift
  for pkg in "$@"; do
    local fetched=0
    for v in $(apt-cache showsrc "$pkg" | awk '/^Version:/ {print $2}' | sort -rV | uniq); do
      if (cd "$dir" && apt-get source --download-only "$pkg=$v" >/dev/null 2>&1); then
        fetched=1
        break
      fi
    done
    ((fetched)) || { echo "cannot fetch the source of $pkg" >&2; return 1; }
    for tarball in "$dir/${pkg}"_*.orig.tar.?z; do
      tar -xf "$tarball" -C "$dir"
    done
  done
}

# mproc_build_cmake_dep SRC_DIR NAME BUILD_DIR PREFIX CMAKE_ARG...: configures,
# builds and installs the CMake project unpacked as SRC_DIR/NAME-* into PREFIX
# (Release); CMAKE_ARG... names the toolchain and the project's options.
mproc_build_cmake_dep() {
  local src=$1 name=$2 build=$3 prefix=$4 srcdir
  shift 4
  srcdir=$(find "$src" -maxdepth 1 -type d -name "$name-*" | head -n 1)
  [[ -n $srcdir ]] || { echo "no source for $name in $src" >&2; return 1; }
  cmake -S "$srcdir" -B "$build" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" "$@" >/dev/null &&
    cmake --build "$build" -j "$(nproc)" >/dev/null &&
    cmake --install "$build" >/dev/null
}

# mproc_copy_tree SRC DEST: a fresh copy of what git knows of the tree at SRC
# (tracked, or new and not ignored): never a build directory.
mproc_copy_tree() {
  rm -rf "$2"
  mkdir -p "$2"
  (cd "$1" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$2")
}
