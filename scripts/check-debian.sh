#!/usr/bin/env bash
# Builds mproc's Debian packages from debian/ (dpkg-buildpackage -us -uc -b),
# lints them (lintian: no error, no warning), installs them on this machine
# and checks them the ways users consume them: find_package(mproc) and
# pkg-config against the shared library, a static link against libmproc.a,
# mproc::mpi under mpiexec, and the mproc-bench tool and its man page. The
# packages are removed again at the end, whatever happened.
#
#   scripts/check-debian.sh WORK_DIR
#
# DEB_BUILD_OPTIONS=nocheck by default: the suite runs on every other leg.
# MPROC_DEB_CHECK=1 runs it inside the package build too (shared library,
# Debian's hardening flags, MPI tests included).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
work=${1:?usage: check-debian.sh WORK_DIR}

mproc_install_packages dpkg-dev debhelper lintian fakeroot cmake gcc pkg-config \
  libmsgpack-dev libssl-dev libopenmpi-dev openmpi-bin libcmocka-dev python3 man-db

version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
src=$work/mproc-$version
rm -rf "$work"
# dpkg-buildpackage writes the packages beside the source, so it gets a copy.
mproc_copy_tree "$root" "$src"

echo "dpkg-buildpackage -us -uc -b ($version)"
options="parallel=$(nproc)"
[[ ${MPROC_DEB_CHECK:-0} == 1 ]] || options="nocheck $options"
(cd "$src" && DEB_BUILD_OPTIONS=$options dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
  { tail -n 40 "$work/build.log"; echo "package build failed" >&2; exit 1; }
mapfile -t debs < <(find "$work" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' | sort)
printf '  %s\n' "${debs[@]##*/}"
((${#debs[@]} == 5)) || { echo "expected 5 packages, got ${#debs[@]}" >&2; exit 1; }

echo "lintian (fails on any error or warning)"
lintian --fail-on error,warning --display-info "$work"/mproc_*.changes 2>&1 |
  grep -v 'running with root privileges' || true
lintian --fail-on error,warning "$work"/mproc_*.changes >/dev/null 2>&1 ||
  { echo "lintian found errors or warnings" >&2; exit 1; }

names=(libmproc0 libmproc-dev libmproc-mpi0 libmproc-mpi-dev mproc-bench)
remove() { mproc_sudo env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${names[@]}" \
  >/dev/null 2>&1 || true; }
trap remove EXIT
echo "apt-get install ./*.deb"
mproc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${debs[@]}" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }
for n in "${names[@]}"; do
  [[ $(dpkg-query -W -f='${Version}' "$n") == "$version" ]] || { echo "$n not installed" >&2; exit 1; }
done

# The consumer against the shared library, both ways (CMake, pkg-config).
"$root/scripts/check-install.sh" /usr
"$root/scripts/check-install.sh" --mpi /usr/bin/mpiexec.openmpi /usr

echo "static link against libmproc.a"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -o "$work/static-consumer" "$root/tests/consumer/main.c" $(pkg-config --cflags mproc) \
  -l:libmproc.a $(pkg-config --libs --static mproc | sed 's/-lmproc\b//')
if ldd "$work/static-consumer" | grep -q libmproc; then
  echo "the static consumer still needs libmproc.so" >&2
  exit 1
fi
"$work/static-consumer"

echo "mproc-bench and its man page"
mproc-bench --help >/dev/null
man -w mproc-bench
echo "debian check: ok"
