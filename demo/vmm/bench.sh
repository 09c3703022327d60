#!/bin/sh
# make bench-vmm, in the test VM: vmmem-vmm's boot time and guest disk
# throughput.
#   /vmm/bench.sh [ROUNDS [SECONDS]]
# Boot: ROUNDS boots each on module-allocated vmmem RAM (2 MiB pages), on
# the same with the module's huge_pages off (4 KiB pages, as before 2 MiB
# pages or on a fragmented host) and on pinned anonymous memory (--anon:
# KVM then maps ordinary THP-able memory), interleaved; the time to the
# guest's /init (its first line) as the VMM measures it; then the guest's
# memory workload (guest-bench mem: random 8-byte reads over 128 MiB, a
# sequential pass). Disk: one boot each of (a) vmmem fd I/O, (a') pread/pwrite
# into the VMM's own mapping, (b) qemu-storage-daemon over vhost-user; the
# guest reads its 64 MiB disk with O_DIRECT for SECONDS per test
# (guest-bench.c). Prints "VMM-BENCH ..." lines, then ratios.
set -u
rounds=${1:-3} secs=${2:-5} membench=128
img=/tmp/vmm-bench.img
vmm() {
	/vmm/vmmem-vmm -k /vmm/bzImage -i /vmm/guest.cpio.gz -t 120 \
		--mark GUEST-BOOTED "$@" >/tmp/vmm-bench.log 2>&1 ||
		{ echo "VMM-BENCH-ERROR vmmem-vmm $*"; tail -n 20 /tmp/vmm-bench.log; }
}
dd if=/dev/urandom of=$img bs=1M count=64 2>/dev/null
ulimit -l unlimited

hp=/sys/module/vmmem/parameters/huge_pages
for i in $(seq "$rounds"); do
	for ram in kernel kernel4k anon; do
		opt=; [ $ram = anon ] && opt=--anon
		# kernel4k: the module's 4 KiB pages only (huge_pages off)
		[ $ram = kernel4k ] && echo N >$hp
		vmm $opt -d $img -a "vmm.membench=$membench"
		echo Y >$hp
		t=$(sed -n 's/.*"GUEST-BOOTED" after \([0-9.]*\) s.*/\1/p' /tmp/vmm-bench.log)
		echo "VMM-BENCH boot $ram $i ${t:-?}"
		sed -n "s/^guest| GUEST-BENCH \(mem-[a-z]*\) \([0-9.]*\) .*/VMM-BENCH \1 $ram $i \2/p" /tmp/vmm-bench.log
	done
done
for i in $(seq "$rounds"); do
	for disk in a a-pread b; do
		case $disk in
		a) opt="-d $img" ;;
		a-pread) opt="-d $img --pread" ;;
		b) opt="-u $img" ;;
		esac
		vmm $opt -a "vmm.bench=$secs"
		sed -n "s/^guest| GUEST-BENCH \([^ ]*\) \([0-9.]*\) MiB\/s \([0-9]*\) IOPS/VMM-BENCH disk $disk \1 \2 MiB\/s \3 IOPS/p" /tmp/vmm-bench.log
	done
done
rm -f $img /tmp/vmm-bench.log
