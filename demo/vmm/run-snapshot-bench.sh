#!/bin/bash
# make bench-snapshot: boot the 6.12 test VM once and run
# "snapshot-test.sh bench" in it: vmmem-vmm saves a running guest (256 and
# 512 MiB idle, 512 MiB busy) with vmmem's dirty log (pre-copy rounds,
# then a short pause) and without it (pause, copy everything), and restores
# each in a new process.
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
	/^SNAP-BENCH-ERROR/ { print; next }
	{ k = $2 SUBSEP $3 " MiB " $4; c[$3 " MiB " $4] = 1 }
	/ save: [0-9]+ rounds after/ { r = $0; sub(/.* save: /, "", r); rounds[k] = r }
	/ save: memory written/ { w[k] = $11 }
	/ save: pause/ { p = $0; sub(/.*stop-and-copy\) /, "", p); sub(/ ms.*/, "", p); pause[k] = p
	                 q = $0; sub(/.*pre-copy /, "", q); sub(/ s.*/, "", q); pre[k] = q }
	/ restore: memory/ { r = $0; sub(/.*\(/, "", r); sub(/ s\/GiB.*/, "", r); rest[k] = r }
	END {
		n = split("256 MiB idle,512 MiB idle,512 MiB busy", order, ",")
		for (i = 1; i <= n; i++) {
			m = order[i]
			if (!c[m]) continue
			printf "%s, dirty log: %s\n", m, rounds["log", m]
			printf "%s, dirty log: written %s x one full copy; pre-copy %s s while the guest runs; pause %s ms\n",
				m, w["log", m], pre["log", m], pause["log", m]
			printf "%s, no log:    written %s x one full copy; pause %s ms\n", m, w["nolog", m], pause["nolog", m]
			if (pause["log", m] > 0)
				printf "%s: pause without the log / with it: %.1f x\n", m, pause["nolog", m] / pause["log", m]
			printf "%s: restore %s s/GiB (log), %s s/GiB (no log)\n", m, rest["log", m], rest["nolog", m]
		}
	}' "$out.tmp"
	echo "raw:"
	sed 's/^/  /' "$out.tmp"
} | tee "$out"
rm -f "$out.tmp"
! grep -q "^SNAP-BENCH-ERROR" "$out"
