# 64-bit ARM Linux on an x86-64 Debian host (scripts/test.sh leg 2g): Debian's
# cross compiler (gcc-aarch64-linux-gnu) against its arm64 multiarch
# libraries (libmsgpack-dev:arm64, libcmocka-dev:arm64, libssl-dev:arm64).
# The programs run under qemu-user, registered with binfmt_misc by
# scripts/setup-arch.sh so that exec - and the spawn start method - works.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR "")
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
