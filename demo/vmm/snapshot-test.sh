#!/bin/sh
# vmmem-vmm's live snapshot and restore (demo/vmm/snapshot.c), in the test
# VM: run as /tests/vmmem_vmm_snapshot_test by vm/init, with /vmm as for
# vmm-test.sh. Each case boots the guest with vmm.snap=N: its /init counts
# steps, each checking the checksum of a RAM buffer it rewrites (and with a
# disk, reading back the disk block of the step before). The VMM saves it
# while it runs (pre-copy with vmmem's dirty log, --save-at the third
# step) and exits; a new vmmem-vmm restores it, and the guest must go on
# with the next step (no gap, no new boot, its uptime going on from the
# save) to step N and power off cleanly.
#   ram:  RAM only, one region (256 MiB)
#   disk: pinned memfd RAM (KVM's dirty log merged into vmmem's), two
#         regions (256 MiB low, 64 MiB at 4 GiB) and disk (a), written by
#         the guest at every step while it is saved; the image is copied
#         at the pause (FILE.disk) and the restored VMM serves that copy
# Between the disk case's save and its restore, its snapshot is attacked
# (disk_attacks): a header naming another file as the disk, and 14 copies
# with one defect each, refused with their messages. Then a snapshot with
# a bad magic and one with another version are refused with a message.
# After each case: no pin, no module reference, the memory given back.
# Prints TAP and a kselftest "# Totals:" line.
#
# "snapshot-test.sh bench" instead prints the figures (make bench-snapshot):
# the same save with the log (default rounds) and without (--save-rounds 0).
PATH=/bin:/sbin:/usr/bin:/usr/sbin
vmm=/vmm/vmmem-vmm kernel=/vmm/bzImage initrd=/vmm/guest.cpio.gz
bound=60 steps=${SNAP_STEPS:-8} at=2
n=0 pass=0 fail=0 skip=0
work=$(mktemp -d /tmp/vmm-snap.XXXXXX)

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

# GUEST-SNAP lines of a log: "step uptime checksum".
steps_of() { sed -n 's/^guest| GUEST-SNAP //p' "$1"; }

# run_case NAME MEM_MIB LOW_MIB [vmmem-vmm options]
run_case() {
	name=$1 mem_mib=$2 low_mib=$3; shift 3
	snap=$work/$name.snap save=$work/$name.save.log rest=$work/$name.restore.log
	p0=$(pins) r0=$(refcnt) f0=$(free_kb)
	errs=
	e() { errs="$errs${errs:+; }$1"; }

	t0=$(date +%s)
	timeout -s KILL $((bound + 15)) "$vmm" -k "$kernel" -i "$initrd" \
		-m "$mem_mib" -l "$low_mib" -t $bound --mark GUEST-BOOTED \
		-a "vmm.snap=$steps" --save "$snap" --save-at "GUEST-SNAP $at " \
		"$@" >"$save" 2>&1
	rc=$? t1=$(date +%s)
	[ $rc -eq 0 ] || e "saving vmmem-vmm: exit status $rc"
	grep -q '^vmm: exit: saved' "$save" || e "the guest was not saved"
	[ -f "$snap" ] || e "no snapshot file"
	[ "$(pins)" = "$p0" ] || e "pins left after the save: $(($(pins) - p0))"

	[ -z "${hook:-}" ] || [ ! -f "$snap" ] || $hook "$snap"
	timeout -s KILL $((bound + 15)) "$vmm" --restore "$snap" -t $bound \
		$restore_opts >"$rest" 2>&1
	rc=$? t2=$(date +%s)
	[ $rc -eq 0 ] || e "restored vmmem-vmm: exit status $rc"
	grep -q '^vmm: exit: power off' "$rest" || e "the restored guest did not power off"
	grep -q '^guest| GUEST-DONE' "$rest" || e "the restored guest did not finish"
	! grep -q '^guest| GUEST-BOOTED' "$rest" || e "the restored guest booted again"
	! grep -q 'GUEST-ERROR' "$save" "$rest" || e "$(grep -h -m1 'GUEST-ERROR' "$save" "$rest")"
	# The steps: the saved guest's last, then the restored guest's from
	# the next one on, one by one, to the last; the uptime goes on.
	last=$(steps_of "$save" | tail -n 1) first=$(steps_of "$rest" | head -n 1)
	k=${last%% *} u0=${last#* }; u0=${u0%% *}
	j=${first%% *} u1=${first#* }; u1=${u1%% *}
	[ -n "$k" ] && [ "$k" -ge $at ] || e "the saved guest printed no step $at"
	[ -n "$j" ] && [ "$j" = $((k + 1)) ] || e "the restored guest's first step is ${j:-none}, after step ${k:-none}"
	seq_ok=$(steps_of "$rest" | awk -v j="$j" -v n="$steps" '
		{ if ($1 != j++) bad = 1 } END { print (!bad && j == n + 1) ? 1 : 0 }')
	[ "$seq_ok" = 1 ] || e "the restored guest's steps are not $j to $steps one by one"
	awk -v a="$u0" -v b="$u1" 'BEGIN { exit !(a + 0 > 0 && b >= a && b < a + 10) }' ||
		e "uptime ${u0:-?} s at step $k, ${u1:-?} s at step $j"
	if [ -f "$snap.disk" ]; then
		got=$(dd if="$snap.disk" bs=4k skip=$((1024 + steps % 256)) count=1 2>/dev/null | head -n 1)
		[ "$got" = "SNAP $steps" ] || e "the disk's block of step $steps holds \"$got\""
		grep -q "^vmm: restore: disk $snap.disk, the copy" "$rest" ||
			e "the restored VMM did not say it serves $snap.disk"
	fi
	if [ -f "$work/victim" ]; then
		[ "$(sha256sum <"$work/victim")" = "$victim_sum" ] ||
			e "the file the snapshot's header named was written"
		rm -f "$work/victim"
	fi
	rm -f "$snap" "$snap.disk"
	[ "$(pins)" = "$p0" ] || e "pins left: $(($(pins) - p0))"
	[ "$(refcnt)" = "$r0" ] || e "module references left: $(($(refcnt) - r0))"
	f1=$(free_kb)
	[ "$f1" -gt $((f0 - mem_mib * 256)) ] || e "$((f0 - f1)) kB of memory not given back"

	echo "# $name: save run $((t1 - t0)) s (saved at step $k), restored run $((t2 - t1)) s (steps $j-$steps)"
	grep -h '^vmm: save: \(round\|[0-9]* rounds\|memory\|pause\)\|^vmm: restore:' "$save" "$rest" | sed 's/^vmm: /#   /'
	echo "#   steps at uptime: $(steps_of "$save" | awk '{ printf "%s@%s ", $1, $2 }')| restored: $(steps_of "$rest" | awk '{ printf "%s@%s ", $1, $2 }')"
	if [ -z "$errs" ]; then
		ok "$name"
	else
		echo "# $name: $errs"
		for f in "$save" "$rest"; do
			echo "# ---- $f (last lines) ----"
			tail -n 30 "$f" | sed 's/^/# /'
		done
		not_ok "$name"
	fi
}

# Before the disk case's restore: its snapshot is the attacker's to edit.
# The header names another file as the disk (finding: a restore opened it
# read-write and the guest wrote it): the restore must use FILE.disk
# beside the snapshot, or refuse when there is none, and never touch the
# file named. Then copies of it with one defect each (snapfuzz edit: the
# header and state sections edited, the RAM left as holes) must each be
# refused with its message before anything runs: device state no register
# write gives (a queue of 65535 or 0 entries: a stack overflow with a
# return address from the file, a division by zero), a request in
# flight, and a file whose structure is wrong.
disk_attacks() {
	src=$1 bad=$work/crafted.snap
	head -c 1M /dev/urandom >"$work/victim"
	victim_sum=$(sha256sum <"$work/victim")
	printf '%s\0' "$work/victim" | dd of="$src" bs=1 seek=96 conv=notrunc 2>/dev/null
	mv "$src.disk" "$src.disk.away"
	out=$(timeout -s KILL 30 "$vmm" --restore "$src" -t 10 $restore_opts 2>&1); rc=$?
	mv "$src.disk.away" "$src.disk"
	if [ $rc -ne 0 ] && echo "$out" | grep -q "$src.disk: .*give the disk with -d" &&
	   [ "$(sha256sum <"$work/victim")" = "$victim_sum" ]; then
		ok "disk_named_by_the_header_is_not_opened"
	else
		echo "# disk_named_by_the_header_is_not_opened: exit $rc: $(echo "$out" | grep -v '^guest|' | tail -n 3)"
		not_ok "disk_named_by_the_header_is_not_opened"
	fi
	# (not "name": run_case's, which called us)
	while IFS='|' read -r what want edits; do
		[ -n "$what" ] || continue
		# shellcheck disable=SC2086 # one word per edit
		if ! /vmm/snapfuzz edit "$src" "$bad" $edits; then
			not_ok "refused_$what (snapfuzz edit $edits)"
			continue
		fi
		out=$(timeout -s KILL 30 "$vmm" --restore "$bad" -d "$src.disk" -t 10 $restore_opts 2>&1); rc=$?
		if [ $rc -ne 0 ] && [ $rc -lt 128 ] && echo "$out" | grep -q "$want" &&
		   ! echo "$out" | grep -q '^guest|'; then
			ok "refused_$what"
		else
			echo "# refused_$what ($edits): exit $rc, want \"$want\": $(echo "$out" | grep -v '^guest|' | tail -n 2)"
			not_ok "refused_$what"
		fi
		rm -f "$bad"
	done <<EOF
queue_of_65535|section VIRTIO_MMIO: queue size 65535|mmio.vq_num=65535
queue_of_0_ready|section VIRTIO_MMIO: queue size 0, ready|mmio.vq_num=0
queue_of_3|section VIRTIO_MMIO: queue size 3|mmio.vq_num=3
active_queue_not_ready|section VIRTIO_MMIO: active with|mmio.vq_ready=0
features_not_offered|driver features 0x|mmio.driver_features=0xffffffffffffffff
request_in_flight|section BLK: 5 requests taken|blk.last_avail=5
region_at_file_offset_0|RAM region 0 .* is not in the file after its header|hdr.ram0.offset=0
regions_overlapping|RAM regions 0 and 1 overlap|hdr.ram1.offset=4096
region_over_the_mmio_hole|RAM region 0 is 0x0+0xe0000000|hdr.ram0.size=0xe0000000
region_wrapping|RAM region 1 .* is not in the file|hdr.ram1.offset=0xfffffffffffff000
state_wrapping|the state sections .* are not in the file|hdr.state_offset=0xffffffffffffff00
cpuid_of_no_entries|section CPUID: 8 bytes for 0 entries|cpuid.nent=0
no_xcrs|XCRS|drop=XCRS
no_lapic|no section LAPIC|drop=LAPIC
EOF
}

# A snapshot file that is not one, or of another version: a clear refusal.
refused() {
	name=$1 want=$2 f=$work/bad.snap
	head -c 8192 /dev/zero >"$f"
	case $name in
	bad_version) printf 'VMMEMSNP\143\0\0\0' | dd of="$f" conv=notrunc 2>/dev/null ;;
	esac
	out=$("$vmm" --restore "$f" 2>&1); rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -q "$want"; then
		ok "$name"
	else
		echo "# $name: exit $rc: $out"
		not_ok "$name"
	fi
	rm -f "$f"
}

# bench: the same guest saved with the dirty log, then without it; each
# figure a "SNAP-BENCH HOW MEM_MIB WORKLOAD" line
# (demo/vmm/run-snapshot-bench.sh). Workloads: idle (the test's steps and
# a sleep), busy (32 MiB rewritten in a loop between the steps).
bench() {
	for spec in 256:idle 512:idle 512:busy; do
		mem=${spec%:*} work_=${spec#*:}
		extra=; [ $work_ = busy ] && extra=" vmm.snapbusy=32"
		for how in log nolog; do
			opt=; [ $how = nolog ] && opt="--save-rounds 0"
			tag="SNAP-BENCH $how $mem $work_"
			snap=$work/b.snap log=$work/b.log
			"$vmm" -k "$kernel" -i "$initrd" -m $mem -t $bound \
				-a "vmm.snap=1000$extra" --save "$snap" \
				--save-at "GUEST-SNAP $at " $opt >"$log" 2>&1
			grep -q '^vmm: exit: saved' "$log" ||
				echo "SNAP-BENCH-ERROR $how $mem $work_: $(grep '^vmm: exit' "$log")"
			grep '^vmm: save: ' "$log" | sed "s/^vmm: save: /$tag save: /"
			"$vmm" --restore "$snap" -t 15 >"$log" 2>&1
			grep '^vmm: restore: ' "$log" |
				sed "s,^vmm: restore: /[^:]*: ,$tag restore: ,; s,^vmm: restore: ,$tag restore: ,"
			grep -q 'GUEST-SNAP' "$log" ||
				echo "SNAP-BENCH-ERROR $how $mem $work_: the restored guest printed no step"
			rm -f "$snap"
		done
	done
}

if [ "${1:-}" = bench ]; then
	ulimit -l unlimited 2>/dev/null
	bench
	rm -rf "$work"
	exit 0
fi

echo "TAP version 13"
echo "1..19"
if [ -w /sys/kernel/debug/kmemleak ]; then
	# A KASAN kernel: a nested boot under TCG does not fit the bound.
	for c in $(seq 19); do skip "case $c (debug kernel)"; done
elif [ ! -x "$vmm" ] || [ ! -f "$kernel" ] || [ ! -f "$initrd" ] || [ ! -c /dev/kvm ]; then
	for c in $(seq 19); do skip "case $c (no /vmm files or no /dev/kvm)"; done
else
	# Pinned memfd RAM is charged to RLIMIT_MEMLOCK unless CAP_IPC_LOCK.
	ulimit -l unlimited 2>/dev/null
	restore_opts=
	run_case ram 256 256
	img=$work/disk.img
	dd if=/dev/urandom of="$img" bs=1M count=1 2>/dev/null
	truncate -s 8M "$img"
	restore_opts=--memfd hook=disk_attacks
	run_case disk 320 256 --memfd -d "$img"
	hook=
	rm -f "$img"
	refused bad_magic 'not a vmmem-vmm snapshot'
	refused bad_version 'format version 99'
fi
rm -rf "$work"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail -eq 0 ]
