# Cross-compiling for 64-bit Windows with Debian's MinGW-w64 (gcc-mingw-w64-x86-64).
# Test executables run under Wine through CMAKE_CROSSCOMPILING_EMULATOR, so
# CTest drives the Windows leg exactly like the Linux ones.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MPROC_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${MPROC_MINGW_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${MPROC_MINGW_PREFIX}-g++)
set(CMAKE_RC_COMPILER ${MPROC_MINGW_PREFIX}-windres)

# MPROC_WIN_DEPS_PREFIX: where scripts/build-win-deps.sh installed CMocka and
# msgpack-c for Windows; searched as a second sysroot.
set(CMAKE_FIND_ROOT_PATH /usr/${MPROC_MINGW_PREFIX} ${MPROC_WIN_DEPS_PREFIX})
list(APPEND CMAKE_PREFIX_PATH /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# C99 printf (%zu, %lld) from MinGW's own stdio instead of msvcrt's.
set(CMAKE_C_FLAGS_INIT "-D__USE_MINGW_ANSI_STDIO=1")

# Link the GCC runtime statically so Wine finds every DLL without WINEPATH.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")

# Wine 8 sometimes fails to start a process ("failed to map the shared user
# data: c0000018", CreateProcessW then says "Internal error"): Linux ASLR can
# put something where Wine needs KUSER_SHARED_DATA. Without address
# randomisation (setarch -R, inherited by every process Wine starts) that
# never happens. This is the test harness only; the library is unaffected.
find_program(MPROC_WINE NAMES wine wine64)
find_program(MPROC_SETARCH setarch)
if(MPROC_WINE AND MPROC_SETARCH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MPROC_SETARCH};x86_64;-R;${MPROC_WINE})
elseif(MPROC_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MPROC_WINE})
endif()
