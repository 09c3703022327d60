#!/bin/sh
# Build the test VM's initramfs (gzip'd newc cpio):
#   vm/mkinitramfs.sh OUT.cpio.gz MODULE.ko [TESTDIR|-] [CMDFILE|-] [BIN...]
# TESTDIR's executables go to /tests, CMDFILE (a shell script run instead of
# the tests) to /cmd, each BIN to /bin. Binaries must be static.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$1 ko=$2 tests=${3:--} cmd=${4:--}
shift 2; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift

stage=$(mktemp -d "${TMPDIR:-/tmp}/vmmem-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# mktemp made it 0700: that would be the VM's / and lock out non-root tests.
chmod 755 "$stage"

mkdir -p "$stage"/bin "$stage"/sbin "$stage"/usr/bin "$stage"/usr/sbin \
	"$stage"/proc "$stage"/sys "$stage"/dev "$stage"/tmp "$stage"/run \
	"$stage"/tests
chmod 1777 "$stage"/tmp
cp /bin/busybox "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"
cp "$ko" "$stage/vmmem.ko"
if [ "$tests" != - ]; then
	for t in "$tests"/*; do
		[ -f "$t" ] && [ -x "$t" ] && cp "$t" "$stage/tests/"
	done
fi
[ "$cmd" = - ] || cp "$cmd" "$stage/cmd"
for b in "$@"; do cp "$b" "$stage/bin/"; done

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$out"
