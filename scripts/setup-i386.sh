#!/usr/bin/env bash
# Makes this x86-64 Debian machine build and run 32-bit x86 programs for the
# 32-bit leg of scripts/test.sh: the i386 architecture for dpkg, gcc's -m32
# (gcc-multilib) and the i386 builds of the dependencies (msgpack-c, CMocka,
# libcrypto). Prints "native" when the kernel runs i386 programs itself, or
# "qemu" when it does not (a kernel booted without IA-32 emulation, as some
# VMs are) and they now run under qemu-user (qemu-i386-static, registered
# with binfmt_misc so that exec - and so the spawn start method - works).
#
#   scripts/setup-i386.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

if ! dpkg --print-foreign-architectures | grep -qx i386; then
  mproc_sudo dpkg --add-architecture i386
  mproc_apt_updated=0
fi
mproc_install_packages gcc-multilib libmsgpack-dev:i386 libcmocka-dev:i386 libssl-dev:i386 >&2

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
# The probe says what ran it: uname's machine is the kernel's (x86_64) in a
# native i386 process and qemu's CPU (i686) under qemu-user. Whether it
# merely runs is no test: a qemu registered with binfmt_misc earlier - by an
# earlier run; the registration is the kernel's, shared by every container -
# comes first, even where the kernel could run the program itself.
cat >"$probe/p.c" <<'EOF'
#include <string.h>
#include <sys/utsname.h>
int main(void) {
  struct utsname u;
  return uname(&u) == 0 && strcmp(u.machine, "x86_64") == 0 ? 0 : 3;
}
EOF
gcc -m32 -o "$probe/p" "$probe/p.c"
status=0
"$probe/p" 2>/dev/null || status=$?
if ((status == 0)); then
  echo native
  exit 0
fi

mproc_install_packages qemu-user-static >&2
misc=/proc/sys/fs/binfmt_misc
[[ -e $misc/register ]] || mproc_sudo mount -t binfmt_misc binfmt_misc "$misc"
if [[ ! -e $misc/mproc-i386 ]]; then
  # The ELF header of an i386 executable or PIE (qemu's own magic and mask);
  # F: qemu is opened now, so it serves in every mount namespace.
  magic='\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00'
  mask='\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
  printf '%s' ":mproc-i386:M::$magic:$mask:/usr/bin/qemu-i386-static:F" |
    mproc_sudo tee "$misc/register" >/dev/null
fi
status=0
"$probe/p" || status=$?
# 3: it ran, under qemu. Anything else: it did not run at all.
((status == 3)) || { echo "i386 programs do not run, even under qemu" >&2; exit 1; }
echo qemu
