#!/bin/sh
# vmmem-vmm boots Linux in the test VM: run as /tests/vmmem_vmm_test by
# vm/init, with /vmm holding vmmem-vmm, the guest bzImage and initramfs
# (vm/mkinitramfs.sh). Four boots: module-allocated and pinned memfd RAM,
# each with disk (a) served by the VMM and (b) by qemu-storage-daemon, in
# one region below 4 GiB or in two (256 MiB low, 64 MiB at 4 GiB).
# Each checks the guest's view (booted, memory size, e820, the checksum of
# the data the host put on its disk), the data the guest wrote, a clean
# power off, and that nothing is left: no pin (nr_foll_pin_*), no module
# reference, no memory. The guest's console goes to a file and is shown
# only for a failure: the test VM's console is its own kernel's log.
# Prints TAP and a kselftest "# Totals:" line.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
vmm=/vmm/vmmem-vmm kernel=/vmm/bzImage initrd=/vmm/guest.cpio.gz
bound=60
n=0 pass=0 fail=0 skip=0
work=$(mktemp -d /tmp/vmm-test.XXXXXX)

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }
skip() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n # SKIP $1"; }

pins() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '/^nr_foll_pin_acquired/ { a = $2 } /^nr_foll_pin_released/ { r = $2 }
	     END { print a - r }' /proc/vmstat
}
free_kb() {
	sync; echo 3 >/proc/sys/vm/drop_caches
	awk '/^MemFree/ { print $2 }' /proc/meminfo
}
refcnt() { cat /sys/module/vmmem/refcnt; }

# The line of @2 (a GUEST-* tag) in the guest's output @1, minus the tag.
field() { sed -n "s/^guest| $2 //p" "$1" | head -n 1; }

# run_case NAME MEM_MIB LOW_MIB [vmmem-vmm options]
run_case() {
	name=$1 mem_mib=$2 low_mib=$3; shift 3
	ranges=2; [ "$mem_mib" -le "$low_mib" ] || ranges=3
	img=$work/disk.img out=$work/$name.log
	dd if=/dev/urandom of="$img" bs=1M count=1 2>/dev/null
	truncate -s 8M "$img"
	want_read=$(dd if="$img" bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
	p0=$(pins) r0=$(refcnt) f0=$(free_kb)

	t0=$(date +%s)
	timeout -s KILL $((bound + 15)) "$vmm" -k "$kernel" -i "$initrd" \
		-m "$mem_mib" -l "$low_mib" -t $bound --mark GUEST-BOOTED "$@" >"$out" 2>&1
	rc=$? secs=$(($(date +%s) - t0))

	wrote=$(dd if="$img" bs=1M skip=2 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
	errs=
	e() { errs="$errs${errs:+; }$1"; }
	[ $rc -eq 0 ] || e "vmmem-vmm exit status $rc"
	grep -q '^vmm: exit: power off' "$out" || e "the guest did not power off"
	grep -q '^guest| GUEST-BOOTED ' "$out" || e "the guest's /init did not run"
	grep -q '^guest| GUEST-DONE' "$out" || e "the guest's /init did not finish"
	! grep -q '^guest| GUEST-ERROR' "$out" || e "$(grep -m1 '^guest| GUEST-ERROR' "$out")"
	# MemTotal is RAM less the kernel's image and reservations (with RAM
	# above 4 GiB, also 64 MiB of swiotlb bounce buffers).
	kb=$(field "$out" GUEST-MEM | cut -d' ' -f1)
	[ "${kb:-0}" -gt $((mem_mib * 1024 / 2)) ] && [ "$kb" -le $((mem_mib * 1024)) ] ||
		e "MemTotal ${kb:-none} kB for $mem_mib MiB"
	# The e820 map: all RAM but the top of the first MiB, in $ranges ranges.
	[ "$(grep -c '^guest| GUEST-E820 .* usable' "$out")" -eq $ranges ] || e "e820: not our $ranges RAM ranges"
	usable=0
	for r in $(sed -n 's/^guest| GUEST-E820 BIOS-e820: \[mem \(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)\] usable/\1-\2/p' "$out"); do
		usable=$((usable + ${r#*-} - ${r%-*} + 1))
	done
	[ $usable -eq $((mem_mib * 1048576 - 0x100000 + 0x9fc00)) ] ||
		e "e820: $usable bytes of RAM for $mem_mib MiB"
	[ "$(field "$out" GUEST-READ)" = "$want_read" ] || e "the guest read other data than the host put on the disk"
	[ "$(field "$out" GUEST-WROTE)" = "$wrote" ] || e "the image does not hold what the guest wrote"
	[ "$(field "$out" GUEST-REREAD)" = "$wrote" ] || e "the guest read back other data than it wrote"
	[ "$(pins)" = "$p0" ] || e "pins left: $(($(pins) - p0))"
	[ "$(refcnt)" = "$r0" ] || e "module references left: $(($(refcnt) - r0))"
	# Slack for the per-CPU page lists, which keep some of the freed RAM
	# (6.12 grows them), and KVM's caches: a quarter of the guest's RAM.
	f1=$(free_kb)
	[ "$f1" -gt $((f0 - mem_mib * 256)) ] || e "$((f0 - f1)) kB of memory not given back"

	boot=$(sed -n 's/.*"GUEST-BOOTED" after \([0-9.]*\) s.*/\1/p' "$out")
	echo "# $name: ${secs}s, /init after ${boot:-?} s; $(grep '^vmm: exits' "$out" | cut -c6-)"
	if [ -z "$errs" ]; then
		ok "$name"
	else
		echo "# $name: $errs"
		echo "# ---- vmmem-vmm $* (last lines) ----"
		tail -n 40 "$out" | sed 's/^/# /'
		not_ok "$name"
	fi
	rm -f "$img"
}

echo "TAP version 13"
echo "1..4"
if [ -w /sys/kernel/debug/kmemleak ]; then
	# A KASAN kernel: a nested boot under TCG does not fit the bound.
	for c in kernel_disk_a kernel_disk_b memfd_disk_a memfd_disk_b; do
		skip "$c (debug kernel)"
	done
elif [ ! -x "$vmm" ] || [ ! -f "$kernel" ] || [ ! -f "$initrd" ] || [ ! -c /dev/kvm ]; then
	for c in kernel_disk_a kernel_disk_b memfd_disk_a memfd_disk_b; do
		skip "$c (no /vmm files or no /dev/kvm)"
	done
else
	# Pinned memfd RAM is charged to RLIMIT_MEMLOCK unless CAP_IPC_LOCK.
	ulimit -l unlimited 2>/dev/null
	run_case kernel_disk_a 256 256 -d "$work/disk.img"
	run_case kernel_disk_b 320 256 -u "$work/disk.img"
	run_case memfd_disk_a 320 256 --memfd -d "$work/disk.img"
	run_case memfd_disk_b 256 256 --memfd -u "$work/disk.img"
fi
rm -rf "$work"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail -eq 0 ]
