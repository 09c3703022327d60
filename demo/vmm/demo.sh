#!/bin/sh
# make demo, in the test VM: boot Linux with vmmem-vmm on a disk of ours.
#   /vmm/demo.sh [a|b] [more vmmem-vmm options, e.g. --memfd]
# a: the VMM serves the disk (default); b: qemu-storage-daemon does, over
# vhost-user. The guest (demo/vmm/guest-init) checksums the first MiB of
# its disk and writes a MiB at 2 MiB; we show both sides.
set -e
img=/tmp/vmm-demo-disk.img
disk="-d $img"
case ${1:-a} in
a) [ $# -eq 0 ] || shift ;;
b) disk="-u $img"; shift ;;
esac
dd if=/dev/urandom of=$img bs=1M count=1 2>/dev/null
truncate -s 64M $img
echo "host: $img, first MiB sha256 $(dd if=$img bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
set -- -k /vmm/bzImage -i /vmm/guest.cpio.gz -m 320 -l 256 $disk "$@" \
	--mark GUEST-BOOTED -t 60
echo "host: vmmem-vmm $*"
/vmm/vmmem-vmm "$@"
echo "host: $img at 2 MiB, sha256 $(dd if=$img bs=1M skip=2 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
