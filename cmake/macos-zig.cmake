# Cross-building for macOS on Linux with Zig's C compiler (`zig cc`, from
# the npm registry: scripts/setup-zig.sh), which carries the macOS libc
# headers and libSystem's stubs: the library, tests, examples and tools
# compile and link to Mach-O here; they run only on a Mac (the workflow's
# macOS job). MPROC_ZIG_TARGET is aarch64-macos or x86_64-macos;
# MPROC_ZIG_BIN is the folder of setup-zig.sh's wrappers;
# MPROC_MACOS_DEPS_PREFIX is where scripts/build-macos-deps.sh installed
# CMocka and msgpack-c built for that target.
set(CMAKE_SYSTEM_NAME Darwin)
if(MPROC_ZIG_TARGET MATCHES "^aarch64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
else()
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
endif()
set(CMAKE_C_COMPILER ${MPROC_ZIG_BIN}/${MPROC_ZIG_TARGET}-cc)
set(CMAKE_AR ${MPROC_ZIG_BIN}/zig-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${MPROC_ZIG_BIN}/zig-ranlib CACHE FILEPATH "")
# No Xcode, no SDK folder: zig cc brings its own headers and stubs.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "")
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "")
set(CMAKE_OSX_DEPLOYMENT_TARGET "" CACHE STRING "")

set(CMAKE_FIND_ROOT_PATH ${MPROC_MACOS_DEPS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config sees only the dependencies built for the target, never this
# machine's (an optional peer of a benchmark, APR, would be linked).
set(ENV{PKG_CONFIG_LIBDIR} ${MPROC_MACOS_DEPS_PREFIX}/lib/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
# Built, never run here.
set(CMAKE_CROSSCOMPILING_EMULATOR "")
