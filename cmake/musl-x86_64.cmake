# Building against musl with Debian's musl-tools (musl-gcc): a Linux build
# whose C library is musl, as on Alpine. MPROC_MUSL_DEPS_PREFIX is where
# scripts/build-musl-deps.sh installed CMocka, msgpack-c and libcrypto built
# with musl (and the kernel headers musl-gcc leaves out); nothing of
# glibc's is searched.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER musl-gcc)

set(CMAKE_FIND_ROOT_PATH ${MPROC_MUSL_DEPS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_C_FLAGS_INIT "-isystem ${MPROC_MUSL_DEPS_PREFIX}/include")
# Dynamically linked against musl's libc (its loader is
# /lib/ld-musl-x86_64.so.1), as on Alpine: a target in a shared library is
# part of the suite. The dependencies are static archives built with -fPIC.
# Not really a cross build: the programs run here, as they are.
set(CMAKE_CROSSCOMPILING_EMULATOR "")
