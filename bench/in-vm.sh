#!/bin/sh
# Runs in the VM (vm/run.sh -c): in-vm.sh ROUNDS BOOT
#
# Round 1 runs the three programs in full, in an order rotated by BOOT so
# that none always runs first; later rounds run vmmem-bench again without
# the region set-up (its copies and lookups are every implementation's,
# vm-memory's included: see vmmem-bench.c). Every round then runs
# dirty-bench (the dirty log; KVM_MIB: its KVM memslot, 0 for none) if it
# was carried, its CSV rows prefixed "DIRTY-CSV ". CSV rows get a
# "BOOT.ROUND" sample column; run.sh cuts the CSV out of the console
# between markers.
#
#   in-vm.sh ROUNDS BOOT [KVM_MIB]
rounds=${1:-3} boot=${2:-1} kvm_mib=${3:-64}
echo 0 >/proc/sys/kernel/randomize_va_space
if [ "$boot" = 1 ]; then
	echo "BENCH-INFO kernel: $(uname -r)"
	echo "BENCH-INFO cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2-)"
	echo "BENCH-INFO $(grep -m1 '^flags' /proc/cpuinfo | tr -s '\t ' ' ')"
	echo "BENCH-INFO aslr: $(cat /proc/sys/kernel/randomize_va_space)"
	echo "BENCH-INFO thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
	echo "BENCH-INFO mem: $(grep MemTotal /proc/meminfo | tr -s ' ')"
fi
rc=0
echo "BENCH-CSV-BEGIN"
r=1
while [ "$r" -le "$rounds" ]; do
	if [ "$r" = 1 ]; then
		set -- memcpy-bench vm-memory-bench vmmem-bench
		i=1
		while [ "$i" -lt "$boot" ]; do	# rotate by boot - 1
			p=$1; shift; set -- "$@" "$p"; i=$((i + 1))
		done
		arg=
	else
		set -- vmmem-bench
		arg=--no-setup
	fi
	for p in "$@"; do
		t0=$(date +%s)
		# shellcheck disable=SC2086 # no argument when empty
		/bin/$p $arg >/tmp/out || { rc=1; echo "# $p failed"; }
		# Comments (copy routine, cache fill) from the first round only.
		if [ "$r.$boot" = 1.1 ]; then
			sed -e "s/^[a-z]/$boot.$r,&/" /tmp/out
		else
			sed -e "s/^[a-z]/$boot.$r,&/" -e '/^#/d' /tmp/out
		fi
		echo "# boot $boot round $r: $p${arg:+ $arg} took $(($(date +%s) - t0)) s"
	done
	# The dirty log (dirty-bench.c), every round: its rows are marked
	# DIRTY-CSV, for run.sh to keep apart from the others.
	if [ -x /bin/dirty-bench ]; then
		t0=$(date +%s)
		if [ "$kvm_mib" = 0 ]; then
			set -- --no-kvm
		else
			set -- --kvm-mib "$kvm_mib"
		fi
		/bin/dirty-bench "$@" >/tmp/out ||
			{ rc=1; echo "# dirty-bench failed"; }
		if [ "$r.$boot" = 1.1 ]; then
			sed -e "s/^[a-z]/DIRTY-CSV $boot.$r,&/" /tmp/out
		else
			sed -e "s/^[a-z]/DIRTY-CSV $boot.$r,&/" -e '/^#/d' /tmp/out
		fi
		echo "# boot $boot round $r: dirty-bench took $(($(date +%s) - t0)) s"
	fi
	r=$((r + 1))
done
echo "BENCH-CSV-END"
exit $rc
