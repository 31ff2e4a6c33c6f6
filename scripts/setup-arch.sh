#!/usr/bin/env bash
# Makes this x86-64 Debian machine build and run programs of another
# architecture for scripts/test.sh: i386 (the 32-bit leg: gcc -m32 from
# gcc-multilib) or arm64 (the aarch64 leg: Debian's gcc-aarch64-linux-gnu),
# with that architecture's builds of the dependencies (msgpack-c, CMocka,
# libcrypto) from Debian's multiarch packages. Prints "native" when the
# kernel runs the architecture's programs itself (i386 on most x86-64
# kernels), or "qemu" when they now run under qemu-user, registered with
# binfmt_misc so that exec - and so the spawn start method - works (arm64
# always; i386 on a kernel booted without IA-32 emulation, as some VMs are).
#
#   scripts/setup-arch.sh i386|arm64
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

arch=${1:?usage: setup-arch.sh i386|arm64}
case $arch in
  i386)
    cc=(gcc -m32) compiler=gcc-multilib machine=x86_64 qemu=qemu-i386-static
    # The ELF header of an i386 executable or PIE (qemu's own magic and mask).
    magic='\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00'
    mask='\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    ;;
  arm64)
    cc=(aarch64-linux-gnu-gcc) compiler=gcc-aarch64-linux-gnu machine=none qemu=qemu-aarch64-static
    magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    ;;
  *) echo "setup-arch.sh: unknown architecture $arch" >&2; exit 2 ;;
esac

if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  mproc_sudo dpkg --add-architecture "$arch"
  mproc_apt_updated=0
fi
mproc_install_packages "$compiler" "libmsgpack-dev:$arch" "libcmocka-dev:$arch" "libssl-dev:$arch" >&2

# The probe says what ran it: uname's machine is the kernel's (x86_64) in a
# native i386 process and qemu's CPU (i686, aarch64) under qemu-user.
# Whether it merely runs is no test: a qemu registered with binfmt_misc
# earlier - by an earlier run; the registration is the kernel's, shared by
# every container - comes first, even where the kernel could run the
# program itself.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat >"$probe/p.c" <<'PROBE'
#include <string.h>
#include <sys/utsname.h>
int main(int argc, char **argv) {
  struct utsname u;
  return argc > 1 && uname(&u) == 0 && strcmp(u.machine, argv[1]) == 0 ? 0 : 3;
}
PROBE
"${cc[@]}" -o "$probe/p" "$probe/p.c"
status=0
"$probe/p" "$machine" 2>/dev/null || status=$?
if ((status == 0)); then
  echo native
  exit 0
fi

mproc_install_packages qemu-user-static >&2
misc=/proc/sys/fs/binfmt_misc
[[ -e $misc/register ]] || mproc_sudo mount -t binfmt_misc binfmt_misc "$misc"
if [[ ! -e $misc/mproc-$arch ]]; then
  # F: qemu is opened now, so it serves in every mount namespace.
  printf '%s' ":mproc-$arch:M::$magic:$mask:/usr/bin/$qemu:F" |
    mproc_sudo tee "$misc/register" >/dev/null
fi
status=0
"$probe/p" "$machine" || status=$?
# 3: it ran, under qemu. Anything else: it did not run at all.
((status == 3)) || { echo "$arch programs do not run, even under qemu" >&2; exit 1; }
echo qemu
