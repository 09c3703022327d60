#!/bin/sh
# vmmem-vmm against a hostile guest (demo/vmm/guest-hostile.c), in the test
# VM: run as /tests/vmmem_vmm_hostile_test by vm/init, with /vmm as for
# vmm-test.sh. The guest drives disk (a)'s virtio-mmio registers and rings
# itself, through /dev/mem, as no driver would.
#   devices:       each check of guest-hostile.c is a case here (queue
#                  sizes, DRIVER_OK out of order, a runaway avail index, a
#                  looping chain, no status byte, buffers outside RAM and
#                  past the disk, status bytes over avail->idx, odd MMIO,
#                  the legacy ports, then a good read); the VMM must power
#                  off cleanly, the image keep its size, and a file beside
#                  it stay as it was
#   spin_timeout:  status bytes over avail->idx and QueueNotify for ever:
#                  --timeout must still stop the VMM
#   spin_sigterm:  the same, stopped by SIGTERM
# Prints TAP and a kselftest "# Totals:" line.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
vmm=/vmm/vmmem-vmm kernel=/vmm/bzImage initrd=/vmm/guest.cpio.gz
args="iomem=relaxed"
n=0 pass=0 fail=0 skip=0
work=$(mktemp -d /tmp/vmm-hostile.XXXXXX)

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }
skip() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n # SKIP $1"; }

checks="queue_size_refused driver_ok_without_a_queue_needs_reset
avail_index_past_the_queue_needs_reset looping_chain_needs_reset
request_without_status_byte_needs_reset buffer_outside_ram_fails_the_request
write_from_outside_ram_fails_the_request sector_past_the_disk_fails_the_request
write_across_the_disk_end_fails_the_request huge_buffer_fails_the_request
read_over_the_descriptors read_over_the_avail_ring
status_bytes_over_avail_idx_end_each_notify odd_mmio_accesses legacy_ports
a_good_read_after_it_all"
total=$(($(echo $checks | wc -w) + 3))

show() {
	echo "# ---- $1 (last lines) ----"
	tail -n 25 "$1" | sed 's/^/# /'
}

devices() {
	img=$work/disk.img out=$work/devices.log canary=$work/canary
	printf 'HOSTILE-IMAGE' >"$img"
	truncate -s 8M "$img"
	head -c 65536 /dev/urandom >"$canary"
	sum=$(sha256sum <"$canary")
	timeout -s KILL 150 "$vmm" -k "$kernel" -i "$initrd" -m 128 -d "$img" \
		-t 120 -a "vmm.hostile=all $args" >"$out" 2>&1
	rc=$?
	for c in $checks; do
		line=$(sed -n "s/^guest| GUEST-HOSTILE $c //p" "$out")
		if [ "$line" = ok ]; then
			ok "$c"
		else
			echo "# $c: ${line:-no answer}"
			not_ok "$c"
		fi
	done
	errs=
	[ $rc -eq 0 ] || errs="exit status $rc"
	grep -q '^vmm: exit: power off' "$out" || errs="$errs; no power off"
	grep -q '^guest| GUEST-HOSTILE-DONE' "$out" || errs="$errs; the guest did not finish"
	[ "$(stat -c %s "$img")" = $((8 << 20)) ] || errs="$errs; the image is $(stat -c %s "$img") bytes"
	[ "$(sha256sum <"$canary")" = "$sum" ] || errs="$errs; the file beside the image changed"
	grep -q 'virtio-blk: .*: the device needs a reset' "$out" ||
		errs="$errs; the VMM never said the device needs a reset"
	if [ -z "$errs" ]; then
		ok "devices_survive_and_nothing_else_is_written"
	else
		echo "# devices:$errs"
		show "$out"
		not_ok "devices_survive_and_nothing_else_is_written"
	fi
}

# The spinning guest, stopped by --timeout (15 s) or by SIGTERM.
spin() {
	how=$1 out=$work/spin-$1.log img=$work/disk.img
	printf 'HOSTILE-IMAGE' >"$img"
	truncate -s 8M "$img"
	t0=$(date +%s)
	if [ "$how" = timeout ]; then
		timeout -s KILL 90 "$vmm" -k "$kernel" -i "$initrd" -m 128 \
			-d "$img" -t 15 -a "vmm.hostile=spin $args" >"$out" 2>&1
		want='^vmm: exit: .*ran out of time' bound=45
	else
		"$vmm" -k "$kernel" -i "$initrd" -m 128 -d "$img" \
			-a "vmm.hostile=spin $args" >"$out" 2>&1 &
		pid=$!
		i=0
		while ! grep -q 'GUEST-HOSTILE spinning' "$out" && [ $i -lt 600 ] &&
		      kill -0 $pid 2>/dev/null; do
			sleep 0.1
			i=$((i + 1))
		done
		sleep 1
		t0=$(date +%s)
		kill -TERM $pid 2>/dev/null
		i=0
		while kill -0 $pid 2>/dev/null && [ $i -lt 150 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL $pid 2>/dev/null
		wait $pid 2>/dev/null
		want='^vmm: exit: .*stopped by a signal' bound=10
	fi
	secs=$(($(date +%s) - t0))
	if grep -q 'GUEST-HOSTILE spinning' "$out" && grep -q "$want" "$out" &&
	   [ $secs -le $bound ]; then
		ok "spin_$how"
	else
		echo "# spin_$how: after $secs s (bound $bound s): $(grep '^vmm: exit' "$out")"
		show "$out"
		not_ok "spin_$how"
	fi
}

echo "TAP version 13"
echo "1..$total"
if [ -w /sys/kernel/debug/kmemleak ]; then
	# A KASAN kernel: a nested boot under TCG does not fit the bound.
	for c in $(seq $total); do skip "case $c (debug kernel)"; done
elif [ ! -x "$vmm" ] || [ ! -f "$kernel" ] || [ ! -f "$initrd" ] || [ ! -c /dev/kvm ]; then
	for c in $(seq $total); do skip "case $c (no /vmm files or no /dev/kvm)"; done
else
	devices
	spin timeout
	spin sigterm
fi
rm -rf "$work"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail -eq 0 ]
