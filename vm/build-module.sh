#!/bin/sh
# Build vmmem.ko for one kernel release in its own tree, build/<rel>/src, so
# that modules for different kernels never share objects.
#   vm/build-module.sh <release> [extra kbuild args, e.g. C=2]
# KDIR overrides the kernel build tree (default /lib/modules/<release>/build).
# Output: build/<rel>/src/kmod/vmmem.ko, log in build/<rel>/build.log.
# Fails on any compiler or modpost warning (the project allows none).
set -eu

cd "$(dirname "$0")/.."
rel=$1; shift
kdir=${KDIR:-/lib/modules/$rel/build}
out=build/$rel
src=$out/src

[ -d "$kdir" ] || { echo "build-module: no headers at $kdir" >&2; exit 1; }

# Copy only sources (never objects of an in-tree build); cp -p keeps mtimes so
# unchanged files are not rebuilt.
mkdir -p "$src"
cp -p Kbuild VERSION "$src/"
find kmod uapi -type f \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) |
while read -r f; do
	mkdir -p "$src/${f%/*}"
	cp -p "$f" "$src/$f"
done

log=$out/build.log
echo "  MODULE  $rel"
set +e
make -C "$kdir" M="$PWD/$src" "$@" modules >"$log" 2>&1
rc=$?
set -e
# Drop the objects of a failed or warning build, so that the next build
# compiles (and warns) again instead of reusing them.
bad() { find "$src" \( -name '*.o' -o -name '*.ko' \) -delete; exit 1; }
if [ $rc -ne 0 ]; then
	cat "$log" >&2
	echo "build-module: build for $rel failed (log: $log)" >&2
	bad
fi
if grep -Eq 'warning:|WARNING:' "$log"; then
	grep -E -B2 -A4 'warning:|WARNING:' "$log" >&2
	echo "build-module: warnings building for $rel (log: $log)" >&2
	bad
fi
