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
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
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
