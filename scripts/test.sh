#!/usr/bin/env bash
# Builds and runs every test on every leg, on a fresh Debian machine:
#   1. Linux, GCC, Debug, AddressSanitizer + UndefinedBehaviorSanitizer, static
#      library; the whole suite once per start method (spawn, fork, forkserver).
#   1b. Linux, GCC, Release (-O3), static library, -Werror: the optimiser's
#      warnings fail the build; the suite once.
#   2. Linux, Clang, Release, shared library; the suite once, plus an install
#      check (find_package and pkg-config from an install prefix); and Clang
#      with ThreadSanitizer, the suite once.
#   2c. Generic POSIX (MPROC_POSIX_GENERIC=ON): every Linux-only mechanism
#      off, the portable fallbacks on; ASan/UBSan under spawn and forkserver,
#      a Release build under fork.
#   2d. musl: musl-gcc, Release, its dependencies (CMocka, msgpack-c,
#      libcrypto) built from Debian's source packages (build-musl-deps.sh).
#   2e. MPI: mproc::mpi (-DMPROC_WITH_MPI=ON), GCC ASan/UBSan, with Open MPI
#      (the pool's MPI tests under mpirun -n 3 over shared memory and TCP,
#      spawn mode, another build on the workers, a dying rank that must end
#      the job - each under a timeout - and an install check) and with
#      MPICH (the same in world mode; its spawn failure reported).
#   2f. 32-bit x86: gcc -m32 against Debian's i386 multiarch libraries
#      (scripts/setup-arch.sh), Release, -Werror; the suite natively where
#      the kernel runs i386 programs, else under qemu-user.
#   2g. aarch64 Linux: Debian's cross compiler and arm64 libraries, Release,
#      -Werror; the suite under qemu-user with spawn and with fork.
#   2h. macOS x86_64 and arm64: Zig's C compiler from the npm registry
#      (scripts/setup-zig.sh), CMocka and msgpack-c built with it from
#      Debian's sources; the static library with every test, example,
#      benchmark and mproc-bench, and the shared library with mproc-bench,
#      compiled and linked, -Werror, no warning; not run (only a Mac runs
#      them: the workflow's macOS job).
#   3. Windows: MinGW-w64 cross build (Release, -Werror), the suite under Wine.
#   4. The libFuzzer harnesses (scripts/fuzz.sh): each seed corpus replayed,
#      then MPROC_FUZZ_SECONDS (default 12) of fuzzing per harness.
#   5. The Debian packages built from debian/, linted (no lintian error or
#      warning), installed, and consumers built against them
#      (scripts/check-debian.sh); the ABI against the last release's dump in
#      abi/ (scripts/check-abi.sh), and a self-test of that check: three
#      deliberate breaks it must refuse, one allowed growth it must pass.
# Also checks formatting and that every exported function's header comment
# has the sections its signature calls for (scripts/check-header-docs.py).
# Installs what is missing (apt-get, as root or via sudo). Prints each leg's
# CTest summary and a last line "N passed, N failed" summed over all legs;
# exits non-zero if anything failed.
#
#   scripts/test.sh            (MPROC_BUILD_DIR overrides ./build)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

build=${MPROC_BUILD_DIR:-$root/build}
jobs=$(nproc)
passed=0
failed=0
logs=$build/logs
mkdir -p "$logs"

mproc_install_packages "${MPROC_LINUX_PACKAGES[@]}" "${MPROC_WINDOWS_PACKAGES[@]}" clang-format \
  python3 python3-yaml musl-tools perl file ||
  { echo "cannot install the packages this needs" >&2; exit 1; }

# Each heading says when its step began (minutes into the run): where the
# run's time goes, for keeping it short.
started=$SECONDS
note() { printf '\n=== %s  [+%d:%02d]\n' "$*" $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

# count LEG STATUS: a one-off check (build step, install check) as one test.
count() {
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $1 (log: $logs/$1.log)"
    tail -n 30 "$logs/$1.log" 2>/dev/null
  fi
}

# step NAME CMD...: runs a build step quietly into its log; counts a failure.
step() {
  local name=$1
  shift
  if "$@" >"$logs/$name.log" 2>&1; then return 0; fi
  count "$name" 1
  return 1
}

# suite NAME BUILD_DIR [ENV=VALUE...]: runs CTest and adds its counts.
# MPROC_CTEST_ARGS adds CTest options for one suite.
suite() {
  local name=$1 dir=$2
  shift 2
  local log=$logs/$name.log
  # shellcheck disable=SC2086 # MPROC_CTEST_ARGS is a list of options
  (cd "$dir" && env "$@" ctest -j "$jobs" --output-on-failure --timeout 600 \
    ${MPROC_CTEST_ARGS:-}) >"$log" 2>&1
  local status=$?
  local summary
  summary=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1)
  echo "[$name] ${summary:-no CTest summary (status $status)}"
  if [[ $summary =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    local f=${BASH_REMATCH[1]} t=${BASH_REMATCH[2]}
    passed=$((passed + t - f))
    failed=$((failed + f))
    if ((f > 0)); then
      sed -n '/The following tests FAILED/,$p' "$log"
      grep -E -B2 -A25 '\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception' "$log" | head -n 150
    fi
  else
    failed=$((failed + 1))
    tail -n 40 "$log"
  fi
}

note "format (clang-format)"
mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null || find include src tests examples bench tools -name '*.[ch]')
if clang-format --dry-run --Werror "${sources[@]}" >"$logs/format.log" 2>&1; then
  passed=$((passed + 1)); echo "[format] ok"
else
  count format 1
fi

note "header docs (scripts/check-header-docs.py)"
# The check itself must be able to fail: a header missing a section first.
bad=$(mktemp -d)
printf '/* Summary only. */\nMPROC_API int mproc_bad(int x);\n' >"$bad/bad.h"
if ! scripts/check-header-docs.py "$bad/bad.h" >"$logs/header-docs.log" 2>&1 &&
  grep -q "no 'Params:'" "$logs/header-docs.log" &&
  scripts/check-header-docs.py >>"$logs/header-docs.log" 2>&1; then
  passed=$((passed + 1)); echo "[header-docs] $(tail -n 1 "$logs/header-docs.log")"
else
  count header-docs 1
fi
rm -rf "$bad"

note "CI files for other runners (.github/workflows: valid YAML, the jobs they promise)"
if python3 - .github/workflows/*.yml >"$logs/workflows.log" 2>&1 <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    jobs = doc.get("jobs", {})
    # YAML 1.1 reads the key "on" as True.
    assert "on" in doc or True in doc, f"{path}: no 'on'"
    for job in ("linux", "windows", "macos"):
        assert job in jobs and jobs[job].get("steps"), f"{path}: no steps for {job}"
    print(f"{path}: {len(jobs)} jobs")
PY
then
  passed=$((passed + 1)); echo "[workflows] $(tail -n 1 "$logs/workflows.log")"
else
  count workflows 1
fi

note "leg 1: Linux GCC Debug + ASan/UBSan (static)"
gcc_dir=$build/gcc-asan
if step gcc-configure cmake -S . -B "$gcc_dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
    -DMPROC_SANITIZE=address,undefined -DMPROC_WERROR=ON &&
  step gcc-build cmake --build "$gcc_dir" -j "$jobs"; then
  for method in spawn fork forkserver; do
    suite "gcc-asan-$method" "$gcc_dir" MPROC_START_METHOD=$method \
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  done
fi

note "leg 1b: Linux GCC Release -O3 (static, -Werror)"
gccrel_dir=$build/gcc-release
if step gcc-release-configure cmake -S . -B "$gccrel_dir" -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=Release -DMPROC_WERROR=ON -DMPROC_BUILD_BENCH=OFF &&
  step gcc-release-build cmake --build "$gccrel_dir" -j "$jobs"; then
  suite gcc-release "$gccrel_dir"
fi

note "leg 2: Linux Clang Release (shared)"
clang_dir=$build/clang-release
if step clang-configure cmake -S . -B "$clang_dir" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DMPROC_WERROR=ON &&
  step clang-build cmake --build "$clang_dir" -j "$jobs"; then
  suite clang-release "$clang_dir"
  # fork with threads runs here too: the ASan runtime of leg 1 is not
  # fork-safe in threaded processes, glibc's malloc is.
  suite clang-release-fork "$clang_dir" MPROC_START_METHOD=fork
  prefix=$clang_dir/install-root
  rm -rf "$prefix"
  if step install cmake --install "$clang_dir" --prefix "$prefix"; then
    scripts/check-install.sh "$prefix" >"$logs/install-check.log" 2>&1
    status=$?
    echo "[install-check] $(tail -n 1 "$logs/install-check.log")"
    count install-check $status
  fi
fi

note "leg 2b: Linux Clang + ThreadSanitizer"
tsan_dir=$build/clang-tsan
if step tsan-configure cmake -S . -B "$tsan_dir" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPROC_SANITIZE=thread -DMPROC_WERROR=ON \
    -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF -DMPROC_BUILD_TOOLS=OFF &&
  step tsan-build cmake --build "$tsan_dir" -j "$jobs"; then
  # atexit_sleep_ms=0: TSan otherwise sleeps a second in every exiting process,
  # and a pool with maxtasksperchild waits for each retired worker's exit.
  # The 1 GiB transfers (the "huge" groups) are left out here: one memcpy-
  # bound message gives TSan no interleaving the other groups lack, and
  # costs minutes under it; every other leg runs them.
  MPROC_CTEST_ARGS="-E [.]huge$" suite clang-tsan "$tsan_dir" TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=0
fi

note "leg 2c: generic POSIX (MPROC_POSIX_GENERIC: no futex, memfd, eventfd, pidfd, /proc)"
# The fallbacks every other POSIX system needs, proven on Linux: ASan/UBSan
# under spawn and forkserver; a plain build under fork, since the generic
# build's exit watchers are threads, and the ASan runtime is not fork-safe
# in a threaded process (glibc's malloc is).
gen_dir=$build/generic-asan
if step generic-configure cmake -S . -B "$gen_dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
    -DMPROC_POSIX_GENERIC=ON -DMPROC_SANITIZE=address,undefined -DMPROC_WERROR=ON \
    -DMPROC_BUILD_BENCH=OFF -DMPROC_BUILD_TOOLS=OFF &&
  step generic-build cmake --build "$gen_dir" -j "$jobs"; then
  for method in spawn forkserver; do
    suite "generic-asan-$method" "$gen_dir" MPROC_START_METHOD=$method \
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  done
fi
genrel_dir=$build/generic-release
if step generic-release-configure cmake -S . -B "$genrel_dir" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=Release -DMPROC_POSIX_GENERIC=ON -DMPROC_WERROR=ON \
    -DMPROC_BUILD_BENCH=OFF -DMPROC_BUILD_TOOLS=OFF &&
  step generic-release-build cmake --build "$genrel_dir" -j "$jobs"; then
  suite generic-release-fork "$genrel_dir" MPROC_START_METHOD=fork
fi

note "leg 2d: musl (musl-gcc; its dependencies built with musl from Debian's sources)"
musl_dir=$build/musl
if step musl-deps scripts/build-musl-deps.sh "$build/musl-deps" &&
  step musl-configure cmake -S . -B "$musl_dir" \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/musl-x86_64.cmake" \
    -DMPROC_MUSL_DEPS_PREFIX="$build/musl-deps/prefix" -DCMAKE_BUILD_TYPE=Release \
    -DMPROC_WERROR=ON -DMPROC_BUILD_BENCH=OFF -DMPROC_BUILD_TOOLS=OFF &&
  step musl-build cmake --build "$musl_dir" -j "$jobs"; then
  suite musl "$musl_dir"
fi

note "leg 2e: MPI (Open MPI, then MPICH; mproc::mpi, the pool's workers as ranks)"
# Only this leg installs and links MPI: the core and every other leg stay
# free of it. Both MPIs install side by side; each build names its own
# compiler wrapper and launcher.
# mpi_leg NAME WRAPPER LAUNCHER PACKAGES...: installs one MPI, builds
# mproc::mpi's tests with its compiler wrapper, runs them with its launcher.
mpi_leg() {
  local name=$1 wrapper=$2 launcher=$3
  shift 3
  step "$name-packages" mproc_install_packages "$@" &&
    step "$name-configure" cmake -S . -B "$build/$name" -DCMAKE_C_COMPILER=gcc \
      -DCMAKE_BUILD_TYPE=Debug -DMPROC_WITH_MPI=ON -DMPROC_SANITIZE=address,undefined \
      -DMPROC_WERROR=ON -DMPI_C_COMPILER="$wrapper" -DMPIEXEC_EXECUTABLE="$launcher" \
      -DMPROC_BUILD_BENCH=OFF -DMPROC_BUILD_TOOLS=OFF -DMPROC_BUILD_EXAMPLES=OFF &&
    step "$name-build" cmake --build "$build/$name" -j "$jobs" --target test_pool_mpi doc_mpi_1 ||
    return 1
  MPROC_CTEST_ARGS="-R ^(mpi|docs.mpi)" suite "$name" "$build/$name" \
    UBSAN_OPTIONS=print_stacktrace=1
}
# Both MPIs first: the Open MPI install check also checks that an mproc::mpi
# built with Open MPI refuses MPICH at configure time.
if mpi_leg mpi /usr/bin/mpicc.openmpi /usr/bin/mpiexec.openmpi libopenmpi-dev openmpi-bin \
  mpich libmpich-dev; then
  # Installed, mproc::mpi is found and used as users would.
  mpi_prefix=$build/mpi/install-root
  rm -rf "$mpi_prefix"
  if step mpi-install cmake --install "$build/mpi" --prefix "$mpi_prefix"; then
    MPROC_CONSUMER_FLAGS=-fsanitize=address,undefined MPROC_OTHER_MPICC=/usr/bin/mpicc.mpich \
      scripts/check-install.sh --mpi /usr/bin/mpiexec.openmpi "$mpi_prefix" \
      >"$logs/mpi-install-check.log" 2>&1
    status=$?
    echo "[mpi-install-check] $(tail -n 1 "$logs/mpi-install-check.log")"
    count mpi-install-check $status
  fi
fi
mpi_leg mpich /usr/bin/mpicc.mpich /usr/bin/mpiexec.mpich mpich libmpich-dev

# A leg of another architecture (scripts/setup-arch.sh ARCH): every file
# built for it, Release, -Werror; the suite natively where the kernel runs
# its programs, else under qemu-user once per start method given, with
# MPROC_TEST_UNDER_QEMU set (the tests that read what qemu cannot emulate -
# a failed exec reported by posix_spawn - skip) and tests/qemu_parallel.c
# preloaded into every emulated program: qemu makes a process's atomic
# read-modify-writes atomic against other processes only once the process
# has made a thread. Args: name arch toolchain-file ctest-args methods...
foreign_leg() {
  local name=$1 arch=$2 toolchain=$3 ctest_args=$4 runner method
  shift 4
  local dir=$build/$name
  if runner=$(scripts/setup-arch.sh "$arch" 2>"$logs/$name-setup.log") &&
    step "$name-configure" cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/$toolchain" \
      -DCMAKE_BUILD_TYPE=Release -DMPROC_WERROR=ON -DMPROC_BUILD_BENCH=OFF &&
    step "$name-build" cmake --build "$dir" -j "$jobs"; then
    if [[ $runner == native ]]; then
      suite "$name" "$dir"
      return
    fi
    for method in "$@"; do
      MPROC_CTEST_ARGS=$ctest_args suite "$name-qemu-$method" "$dir" MPROC_TEST_UNDER_QEMU=1 \
        MPROC_START_METHOD="$method" QEMU_SET_ENV="LD_PRELOAD=$dir/tests/qemu_parallel.so"
    done
  else
    [[ -n ${runner:-} ]] || count "$name-setup" 1
  fi
}

note "leg 2f: 32-bit x86 (gcc -m32 against Debian's i386 libraries)"
# 4-byte size_t and pointers. Natively on most x86-64 kernels; where the
# kernel was booted without IA-32 emulation, under qemu-i386, whose signal
# delivery crashes one test of test_manager.failures (a SIGTERM handler
# that stops a manager: it passes natively and under qemu-aarch64), so that
# group is left to the native runs.
foreign_leg i386 i386 i386-linux.cmake "-E ^test_manager\.failures$" spawn

note "leg 2g: aarch64 Linux (Debian's cross compiler and arm64 libraries, run under qemu-user)"
# A second ISA and ABI for the futex, ring and atomics code. qemu runs ARM
# code on x86's stronger memory ordering: what it proves is the protocol on
# another ISA, not the orderings (docs/design/ARCHITECTURE.md reviews those
# against the C11 model).
foreign_leg aarch64 arm64 aarch64-linux.cmake "" spawn fork

note "leg 2h: macOS, x86_64 and arm64 (zig cc: compiled and linked here, run only on a Mac)"
# Zig's C compiler from the npm registry (scripts/setup-zig.sh) carries the
# macOS libc headers and libSystem's stubs; CMocka and msgpack-c are built
# with it from Debian's sources (scripts/build-macos-deps.sh). Every file -
# the static library with every test, example, benchmark and mproc-bench;
# the shared library with mproc-bench linked against it (the programs
# differ only in how they link, and leaving them out of the shared build
# keeps the run under 25 minutes) - is built with -Werror; any warning, the
# linker's included, fails the leg, as does an output that is not a Mach-O
# program of the target's architecture.
# mac_outputs DIR ARCH MIN: every program and library built (at least MIN)
# is Mach-O for ARCH (an archive: each of its objects).
mac_outputs() {
  local f m n=0 bad=0
  while IFS= read -r f; do
    n=$((n + 1))
    if [[ $f == *.a ]]; then
      for m in $(ar t "$f" | grep -v "^__\.SYMDEF"); do
        ar p "$f" "$m" | file -b - | grep -q "^Mach-O 64-bit $2 object" ||
          { echo "not Mach-O $2: $f($m)"; bad=1; }
      done
    else
      file -b "$f" | grep -q "^Mach-O 64-bit $2 " || { echo "not Mach-O $2: $f"; bad=1; }
    fi
  done < <(find "$1" -type f \( -perm -u+x -o -name '*.a' \) ! -path '*/CMakeFiles/*' ! -name '*.sh')
  echo "$n Mach-O files for $2"
  ((bad == 0 && n >= $3))
}
if zig_bin=$(scripts/setup-zig.sh "$build/zig" 2>"$logs/zig-setup.log"); then
  for target in x86_64-macos aarch64-macos; do
    step "$target-deps" scripts/build-macos-deps.sh "$build/macos-deps" "$zig_bin" "$target" ||
      continue
    arch=${target%-macos}
    [[ $arch == aarch64 ]] && arch=arm64
    for shared in OFF ON; do
      name=$target-$([[ $shared == ON ]] && echo shared || echo static)
      dir=$build/$name
      programs=$([[ $shared == ON ]] && echo OFF || echo ON)
      step "$name-configure" cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/macos-zig.cmake" \
        -DMPROC_ZIG_TARGET="$target" -DMPROC_ZIG_BIN="$zig_bin" \
        -DMPROC_MACOS_DEPS_PREFIX="$build/macos-deps/$target" -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=$shared -DMPROC_WERROR=ON -DMPROC_BUILD_TESTS=$programs \
        -DMPROC_BUILD_EXAMPLES=$programs -DMPROC_BUILD_BENCH=$programs -Wno-dev &&
        step "$name-build" cmake --build "$dir" -j "$jobs" || continue
      ! grep -i "warning:" "$logs/$name-build.log" >"$logs/$name.log" &&
        mac_outputs "$dir" "$arch" "$([[ $shared == ON ]] && echo 2 || echo 50)" \
          >>"$logs/$name.log" 2>&1
      status=$?
      echo "[$name] $(tail -n 1 "$logs/$name.log")"
      count "$name" $status
    done
  done
else
  count zig-setup 1
fi

note "leg 3: Windows (MinGW-w64, run under Wine)"
win_dir=$build/mingw
export WINEDEBUG=-all
# A Wine prefix of the build's own: nothing depends on $HOME or on what an
# earlier run left there.
export WINEPREFIX=$build/wine-prefix
if step win-deps scripts/build-win-deps.sh "$build/win-deps" &&
  step mingw-configure cmake -S . -B "$win_dir" \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" \
    -DMPROC_WIN_DEPS_PREFIX="$build/win-deps/prefix" -DCMAKE_BUILD_TYPE=Release -DMPROC_WERROR=ON \
    -DMPROC_TEST_TIMEOUT=150 &&
  step mingw-build cmake --build "$win_dir" -j "$jobs"; then
  # The first Wine start creates its prefix, and keeps updating it after the
  # first program returns; do it once and let it settle before tests race.
  step wine-init bash -c 'setarch x86_64 -R wine wineboot --init && wineserver --wait' || true
  # Under load Wine occasionally loses a freshly created process (it dies in
  # Wine's start-up before any of our code runs), and about one run in three
  # a test program that has printed its last result never exits (seen in
  # test_error and test_shm, early in the run; not reproduced alone); a test
  # that fails that way gets one more run, after at most 150 s (the slowest
  # group here takes ~50 s). A real failure fails twice.
  MPROC_CTEST_ARGS="--repeat until-pass:2" suite windows-wine "$win_dir"
fi

note "leg 4: libFuzzer harnesses (seed corpora replayed, then ${MPROC_FUZZ_SECONDS:-12} s each)"
while IFS= read -r line; do
  echo "$line"
  case $line in
    "[fuzz-"*"] ok"*) passed=$((passed + 1)) ;;
    "[fuzz-"*"] FAILED"*) failed=$((failed + 1)) ;;
  esac
done < <(MPROC_BUILD_DIR=$build scripts/fuzz.sh "${MPROC_FUZZ_SECONDS:-12}" 2>&1)

note "leg 5: Debian packages (build, lintian, install, consumers) and the ABI check"
# check NAME CMD...: a script that checks one thing, counted as one test;
# its last line is its summary.
check() {
  local name=$1
  shift
  "$@" >"$logs/$name.log" 2>&1
  local status=$?
  echo "[$name] $(tail -n 1 "$logs/$name.log")"
  count "$name" $status
}
check debian scripts/check-debian.sh "$build/debian"
check fetchcontent scripts/check-install.sh --fetch "$build/fetchcontent"
check abi scripts/check-abi.sh "$build/abi"
check abi-self-test scripts/check-abi.sh --self-test "$build/abi"

note "done"
echo
echo "$passed passed, $failed failed"
((failed == 0))
