#!/bin/bash
# `make check-debug`: the selftests on the debug kernel (KASAN, KFENCE,
# UBSAN, lockdep, DEBUG_VM, kmemleak, fault injection; vm/debug-kernel.sh).
# A report from any of them fails the run (vm/run.sh scans the log, and
# vm/init dumps kmemleak after the tests). Ends with the summary line.
#   vm/check-debug.sh [TESTDIR]
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
tests=${1:-build/selftests}

dir=$(vm/debug-kernel.sh) || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
rc=0
if KDIR=$dir/linux-source-6.12 vm/build-module.sh debug; then
	# KASAN under TCG is slow: a longer timeout, and more memory for it.
	# No LA57: KASAN's early shadow under TCG with 5-level paging
	# reports a wild access in the boot CPU's first interrupt.
	KERNEL=$dir/bzImage VM_TIMEOUT=${VM_TIMEOUT:-2400} \
		QEMU_MEM=${QEMU_MEM:-3G} QEMU_CPU=${QEMU_CPU:-max,-la57} \
		vm/run.sh -k debug -t "$tests" || rc=1
	read -r p f s <build/debug/result 2>/dev/null || { p=0 f=1 s=0; }
else
	rc=1 p=0 f=1 s=0
fi
[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
echo "$p passed, $f failed, $s skipped"
exit $rc
