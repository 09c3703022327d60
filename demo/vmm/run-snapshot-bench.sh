#!/bin/bash
# make bench-snapshot: boot the 6.12 test VM once and run
# "snapshot-test.sh bench" in it: vmmem-vmm saves a running guest (256 and
# 512 MiB) with vmmem's dirty log (pre-copy rounds, then a short pause) and
# without it (pause, copy everything), and restores each in a new process.
# Writes the figures to build/vmm/snapshot-bench.txt.
# Under QEMU TCG with nested KVM: compare, do not quote absolute times.
set -euo pipefail
cd "$(dirname "$0")/../.."
rel=${DEMO_KVER:-$(vm/kvers.sh | tr ' ' '\n' | grep '^6\.12\.' | tail -n 1)}
out=build/vmm/snapshot-bench.txt
mkdir -p build/vmm
vm/build-module.sh "$rel"
VM_OUT=build/vmm/snapshot-bench-vm VM_TIMEOUT=${VM_TIMEOUT:-600} \
	vm/run.sh -k "$rel" -c "sh /vmm/snapshot-test.sh bench" |
	grep '^SNAP-BENCH' >"$out.tmp" || true
{
	echo "vmmem-vmm live snapshot in the $rel test VM (QEMU TCG, nested KVM), $(date -u '+%Y-%m-%d %H:%M UTC')"
	awk '
	/^SNAP-BENCH-ERROR/ { print; err = 1; next }
	{ how = $2; mem = $3 }
	/ save: [0-9]+ rounds after/ { sub(/.* save: /, ""); rounds[how, mem] = $0 }
	/ save: memory written/ { w[how, mem] = $10 }
	/ save: pause/ { p = $0; sub(/.*stop-and-copy\) /, "", p); sub(/ ms.*/, "", p); pause[how, mem] = p
	                 q = $0; sub(/.*pre-copy /, "", q); sub(/ s.*/, "", q); pre[how, mem] = q }
	/ restore: memory/ { r = $0; sub(/.*\(/, "", r); sub(/ s\/GiB.*/, "", r); rest[how, mem] = r }
	END {
		for (m = 256; m <= 512; m *= 2) {
			printf "%d MiB, dirty log: %s\n", m, rounds["log", m]
			printf "%d MiB, dirty log: written %s x one full copy; pre-copy %s s while the guest runs; pause %s ms\n",
				m, w["log", m], pre["log", m], pause["log", m]
			printf "%d MiB, no log:    written %s x one full copy; pause %s ms\n", m, w["nolog", m], pause["nolog", m]
			if (pause["log", m] > 0)
				printf "%d MiB: pause without the log / with it: %.1f x\n", m, pause["nolog", m] / pause["log", m]
			printf "%d MiB: restore %s s/GiB (log), %s s/GiB (no log)\n", m, rest["log", m], rest["nolog", m]
		}
		exit err
	}' "$out.tmp"
	echo "raw:"
	sed 's/^/  /' "$out.tmp"
} | tee "$out"
rm -f "$out.tmp"
