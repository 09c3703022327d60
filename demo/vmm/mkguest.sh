#!/bin/sh
# Build the initramfs of the guest vmmem-vmm boots:
#   demo/vmm/mkguest.sh OUT.cpio.gz [KERNEL_RELEASE [GUEST_BENCH [GUEST_HOSTILE]]]
# busybox, demo/vmm/guest-init as /init, the guest kernel's virtio-mmio
# and virtio-blk modules (Debian builds them as modules), uncompressed,
# the disk benchmark (static), as /bench, and the hostile guest program
# (static, demo/vmm/guest-hostile.c), as /hostile.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$1 rel=${2:-6.1.0-57-amd64} bench=${3:-} hostile=${4:-}
mdir=/lib/modules/$rel/kernel/drivers

stage=$(mktemp -d "${TMPDIR:-/tmp}/vmmem-guest.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"
mkdir -p "$stage"/bin "$stage"/sbin "$stage"/usr/bin "$stage"/usr/sbin "$stage"/proc "$stage"/sys "$stage"/dev \
	"$stage"/tmp "$stage"/modules
cp /bin/busybox "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$here/guest-init" "$stage/init"
chmod 755 "$stage/init"
for m in virtio/virtio virtio/virtio_ring virtio/virtio_mmio block/virtio_blk; do
	f=$mdir/$m.ko
	if [ -f "$f" ]; then cp "$f" "$stage/modules/"
	elif [ -f "$f.xz" ]; then xz -dc "$f.xz" >"$stage/modules/${m#*/}.ko"
	else echo "mkguest: no $f" >&2; exit 1
	fi
done
[ -z "$bench" ] || cp "$bench" "$stage/bench"
[ -z "$hostile" ] || cp "$hostile" "$stage/hostile"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
