#!/usr/bin/env bash
# The ABI check (docs/design/STYLE.md, "ABI"). Builds libmproc.so and
# libmproc_mpi.so from a tree (GCC, debug information, the libraries only)
# and compares them with the last release's, stored in abi/<version>/, in
# two halves:
#   - the exported functions: abidiff (Debian's abigail-tools) against the
#     release's ABI dump; a new function passes, a removed one or a changed
#     parameter, return or enum type fails (abi/suppressions.abignore leaves
#     struct layouts to the other half);
#   - the public structs' layouts: scripts/abi-layouts.py against the
#     release's layouts (gdb's ptype/o); a new struct passes, a member that
#     moves or changes fails, unless it gives meaning to reserved words.
#
#   scripts/check-abi.sh BUILD_DIR              check this tree
#   scripts/check-abi.sh --dump BUILD_DIR       write abi/<project version>/ (at a release)
#   scripts/check-abi.sh --self-test BUILD_DIR  change the ABI on purpose in copies of this
#                                               tree: the check fails on each break, and
#                                               passes a reserved word given meaning
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
mode=check
if [[ ${1:-} == --dump || ${1:-} == --self-test ]]; then
  mode=${1#--}
  shift
fi
work=${1:?usage: check-abi.sh [--dump|--self-test] BUILD_DIR}
mkdir -p "$work"
work=$(cd "$work" && pwd)

mproc_install_packages abigail-tools gdb python3 cmake gcc libmsgpack-dev libssl-dev \
  libopenmpi-dev openmpi-bin

# The two libraries and the headers that declare their ABI.
libs=(libmproc.so.0 libmproc_mpi.so.0)
declare -A built=([libmproc.so.0]=libmproc.so [libmproc_mpi.so.0]=mpi/libmproc_mpi.so)
headers() { # headers OPTION SRC LIB: OPTION DIR for each folder of LIB's public headers
  printf '%s\n' "$1" "$2/include"
  [[ $3 == libmproc_mpi.so.0 ]] && printf '%s\n' "$1" "$2/mpi/include"
  return 0
}
own_headers() { # own_headers SRC LIB: the folder of the headers LIB itself declares
  if [[ $2 == libmproc_mpi.so.0 ]]; then echo "$1/mpi/include"; else echo "$1/include"; fi
}

# build SRC DIR: the shared libraries of the tree at SRC, into DIR.
build() {
  cmake -S "$1" -B "$2" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-Og \
    -DBUILD_SHARED_LIBS=ON -DMPROC_WITH_MPI=ON -DMPI_C_COMPILER=/usr/bin/mpicc.openmpi \
    -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF \
    -DMPROC_BUILD_TOOLS=OFF >"$2.log" 2>&1 &&
    cmake --build "$2" -j "$(nproc)" --target mproc mproc_mpi >>"$2.log" 2>&1 ||
    { tail -n 30 "$2.log"; echo "cannot build $1" >&2; return 1; }
}

# compare SRC DIR: 0 when the libraries in DIR (built from SRC) keep the
# last release's ABI; prints both halves' reports.
compare() {
  local release status=0 lib rc hdr
  release=$(find "$root/abi" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)
  [[ -n $release ]] || { echo "no ABI dump in abi/" >&2; return 1; }
  for lib in "${libs[@]}"; do
    mapfile -t hdr < <(headers --headers-dir2 "$1" "$lib")
    rc=0
    abidiff --no-added-syms --drop-private-types --suppressions "$root/abi/suppressions.abignore" \
      "${hdr[@]}" "$root/abi/$release/$lib.abi" "$2/${built[$lib]}" >"$2/$lib.abidiff" 2>&1 || rc=$?
    echo "$lib functions against $release: abidiff status $rc"
    sed 's/^/  /' "$2/$lib.abidiff"
    ((rc == 0)) || status=1
    rc=0
    "$root/scripts/abi-layouts.py" dump "$2/${built[$lib]}" "$(own_headers "$1" "$lib")" \
      >"$2/$lib.layouts" && "$root/scripts/abi-layouts.py" compare \
      "$root/abi/$release/$lib.layouts" "$2/$lib.layouts" >"$2/$lib.layouts-diff" 2>&1 || rc=$?
    echo "$lib structs against $release:"
    sed 's/^/  /' "$2/$lib.layouts-diff"
    ((rc == 0)) || status=1
  done
  return $status
}

copy_tree() { mproc_copy_tree "$root" "$1"; }

case $mode in
  check)
    build "$root" "$work/lib"
    compare "$root" "$work/lib" && echo "ABI check: ok"
    ;;
  dump)
    version=$(sed -n 's/^project(mproc VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
    build "$root" "$work/lib"
    mkdir -p "$root/abi/$version"
    for lib in "${libs[@]}"; do
      mapfile -t hdr < <(headers --headers-dir "$root" "$lib")
      abidw --drop-private-types --no-corpus-path "${hdr[@]}" \
        --out-file "$root/abi/$version/$lib.abi" "$work/lib/${built[$lib]}"
      # Where the tree was built is not part of the ABI.
      sed -i "s|$root/||g; s|$work/lib|build|g" "$root/abi/$version/$lib.abi"
      "$root/scripts/abi-layouts.py" dump "$work/lib/${built[$lib]}" "$(own_headers "$root" "$lib")" \
        >"$root/abi/$version/$lib.layouts"
      echo "wrote abi/$version/$lib.abi and $lib.layouts"
    done
    ;;
  self-test)
    # Each change alone, in its own copy of the tree, with what the report
    # must say: three breaks the check must refuse, one growth it must pass.
    copy_tree "$work/break-layout" # a field in front of an options struct
    sed -i 's/^  size_t maxsize; /  int added_in_front;\n  size_t maxsize; /' \
      "$work/break-layout/include/mproc/queue.h"
    copy_tree "$work/break-removal" # a function taken out of the exported list
    sed -i 's/^  local:$/  local:\n    mproc_pool_map;/' "$work/break-removal/cmake/libmproc.map"
    copy_tree "$work/break-parameter" # a parameter's type changed
    sed -i 's/int mproc_sem_new(mproc_sem_t \*\*out, unsigned value,/int mproc_sem_new(mproc_sem_t **out, int64_t value,/' \
      "$work/break-parameter/include/mproc/sync.h" "$work/break-parameter/src/sync/semaphore.c"
    copy_tree "$work/grow-reserved" # a reserved word given meaning: allowed
    sed -i 's/^  uint64_t reserved\[4\];$/  uint64_t later_option;\n  uint64_t reserved[3];/' \
      "$work/grow-reserved/include/mproc/queue.h" "$work/grow-reserved/include/mproc/sync.h"
    grep -q added_in_front "$work/break-layout/include/mproc/queue.h"
    grep -q mproc_pool_map "$work/break-removal/cmake/libmproc.map"
    [[ $(grep -c int64_t.value "$work"/break-parameter/{include/mproc/sync.h,src/sync/semaphore.c} |
      grep -c ':1$') == 2 ]]
    [[ $(grep -c later_option "$work/grow-reserved/include/mproc/sync.h") == 2 ]]
    for c in "break-layout:mproc_queue_opts_t: size 56 -> 64 bytes" \
      "break-removal:1 Removed" "break-parameter:parameter 2 of type 'unsigned int' changed" \
      "grow-reserved:"; do
      name=${c%%:*} expect=${c#*:}
      build "$work/$name" "$work/lib-$name"
      rc=0
      compare "$work/$name" "$work/lib-$name" >"$work/$name.log" 2>&1 || rc=1
      if [[ $name == grow-* ]]; then
        ((rc == 0)) || { cat "$work/$name.log"; echo "self-test: $name refused" >&2; exit 1; }
        echo "self-test: $name passes"
        continue
      fi
      ((rc == 1)) || { cat "$work/$name.log"; echo "self-test: $name passed" >&2; exit 1; }
      grep -qF "$expect" "$work/$name.log" ||
        { cat "$work/$name.log"; echo "self-test: no '$expect' in the report" >&2; exit 1; }
      echo "self-test: $name found ($expect)"
    done
    echo "ABI self-test: ok"
    ;;
esac
