#!/bin/sh
# Build the test VM's initramfs (gzip'd newc cpio):
#   vm/mkinitramfs.sh OUT.cpio.gz MODULE.ko [TESTDIR|-] [CMDFILE|-] [BIN...]
# TESTDIR's executables go to /tests, CMDFILE (a shell script run instead of
# the tests) to /cmd, each BIN to /bin. Binaries must be static.
# MODULES_REL and MODULES name distribution modules to load before vmmem.ko:
# they and their dependencies go to /modules, in load order (/modules/order),
# decompressed (busybox insmod reads no .ko.xz). A module the kernel has
# built in, or a kernel without /lib/modules (the debug kernel), is skipped.
# DYNBINS names dynamically linked programs (the vhost-user backends): each
# goes to its own path, with the libraries ldd lists and the loader.
# VMM_FILES names the files of vmmem-vmm's test (vm/run.sh): they go to
# /vmm, and its test script vmm-test.sh to /tests/vmmem_vmm_test when
# there are tests; the snapshot and hostile-guest tests beside it
# (demo/vmm/snapshot-test.sh, hostile-test.sh) to /vmm and
# /tests/vmmem_vmm_snapshot_test, /tests/vmmem_vmm_hostile_test.
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

for b in ${DYNBINS:-}; do
	[ -x "$b" ] || continue
	for f in "$b" $(ldd "$b" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		mkdir -p "$stage/${f%/*}"
		cp -L "$f" "$stage/$f"
	done
done

mdir=/lib/modules/${MODULES_REL:-none}
mkdir -p "$stage/modules"
: >"$stage/modules/order"
if [ -f "$mdir/modules.dep" ]; then
	# Each wanted module after its dependencies (modules.dep lists them
	# nearest first), each once.
	for m in ${MODULES:-}; do
		awk -v m="$m" -F': *' '{
			n = $1; sub(/.*\//, "", n); sub(/\.ko(\.xz)?$/, "", n)
			gsub("-", "_", n); mm = m; gsub("-", "_", mm)
			if (n == mm) { k = split($2, d, " "); for (i = k; i >= 1; i--) print d[i]; print $1 }
		}' "$mdir/modules.dep"
	done | awk '!seen[$0]++' | while read -r path; do
		name=${path##*/}; name=${name%.xz}
		case $path in
		*.xz) xz -dc "$mdir/$path" >"$stage/modules/$name" ;;
		*) cp "$mdir/$path" "$stage/modules/$name" ;;
		esac
		echo "$name" >>"$stage/modules/order"
	done
fi
for b in "$@"; do cp "$b" "$stage/bin/"; done
if [ -n "${VMM_FILES:-}" ]; then
	mkdir -p "$stage/vmm"
	for f in $VMM_FILES; do cp "$f" "$stage/vmm/"; done
	# vmmem-vmm's snapshot and hostile-guest tests, beside its vmm-test.sh.
	for f in $VMM_FILES; do
		case $f in */vmm-test.sh)
			for t in snapshot-test.sh hostile-test.sh; do
				[ ! -f "${f%/*}/$t" ] || cp "${f%/*}/$t" "$stage/vmm/"
			done ;;
		esac
	done
	if [ "$tests" != - ] && [ -f "$stage/vmm/vmm-test.sh" ]; then
		cp "$stage/vmm/vmm-test.sh" "$stage/tests/vmmem_vmm_test"
		chmod 755 "$stage/tests/vmmem_vmm_test"
	fi
	if [ "$tests" != - ] && [ -f "$stage/vmm/snapshot-test.sh" ]; then
		cp "$stage/vmm/snapshot-test.sh" "$stage/tests/vmmem_vmm_snapshot_test"
		chmod 755 "$stage/tests/vmmem_vmm_snapshot_test"
	fi
	if [ "$tests" != - ] && [ -f "$stage/vmm/hostile-test.sh" ]; then
		cp "$stage/vmm/hostile-test.sh" "$stage/tests/vmmem_vmm_hostile_test"
		chmod 755 "$stage/tests/vmmem_vmm_hostile_test"
	fi
fi

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$out"
