#!/bin/bash
# make bench-vmm: boot the 6.12 test VM once and run demo/vmm/bench.sh in
# it; write its figures and their ratios to build/vmm/bench.txt.
#   demo/vmm/run-bench.sh [ROUNDS [SECONDS]]   (default 5 rounds, 5 s)
# Under QEMU TCG with nested KVM: ratios, not absolute figures, mean
# something, and only on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5} secs=${2:-5}
rel=${DEMO_KVER:-$(vm/kvers.sh | tr ' ' '\n' | grep '^6\.12\.' | tail -n 1)}
out=build/vmm/bench.txt
mkdir -p build/vmm
vm/build-module.sh "$rel"
VM_OUT=build/vmm/bench-vm VM_TIMEOUT=${VM_TIMEOUT:-$((300 + 60 * rounds))} \
	vm/run.sh -k "$rel" \
	-c "sh /vmm/bench.sh $rounds $secs" | grep '^VMM-BENCH' >"$out.tmp"
{
	echo "vmmem-vmm in the $rel test VM (QEMU TCG, nested KVM), $(date -u '+%Y-%m-%d %H:%M UTC')"
	awk '
	/^VMM-BENCH boot / { n[$3]++; s[$3] += $5; v[$3] = v[$3] " " $5 }
	/^VMM-BENCH mem-/ { k = $2 " " $3; mn[k]++; ms[k] += $5; mv[k] = mv[k] " " $5 }
	/^VMM-BENCH disk / {
		dn[$3, $4]++; mb[$3, $4] += $5; io[$3, $4] += $7
		dv[$3, $4] = dv[$3, $4] " " ($4 == "seq-1M" ? $5 : $7)
	}
	/^VMM-BENCH-ERROR/ { print; err = 1 }
	END {
		for (r in n) printf "boot to /init, %-6s RAM: mean %.2f s over%s\n", r, s[r] / n[r], v[r]
		if (n["kernel"] && n["anon"])
			printf "boot ratio vmmem/anon: %.2f (target <= 1.02)\n", (s["kernel"] / n["kernel"]) / (s["anon"] / n["anon"])
		if (n["kernel4k"] && n["anon"])
			printf "boot ratio vmmem 4 KiB pages/anon: %.2f\n", (s["kernel4k"] / n["kernel4k"]) / (s["anon"] / n["anon"])
		for (k in mn) printf "guest %-16s: mean %.1f over%s\n", k, ms[k] / mn[k], mv[k]
		split("kernel kernel4k", rr, " ")
		for (j = 1; j <= 2; j++) {
			ra = "mem-rand " rr[j]; rb = "mem-rand anon"; sa = "mem-seq " rr[j]; sb = "mem-seq anon"
			if (mn[ra] && mn[rb] && mn[sa] && mn[sb])
				printf "guest memory %s/anon: random read time %.2f, sequential throughput %.2f (targets: <= 1.02, >= 0.98)\n", rr[j],
					(ms[ra] / mn[ra]) / (ms[rb] / mn[rb]), (ms[sa] / mn[sa]) / (ms[sb] / mn[sb])
		}
		split("a a-pread b", d, " ")
		for (i = 1; i <= 3; i++)
			for (t in dn) {
				split(t, tt, SUBSEP)
				if (tt[1] != d[i]) continue
				mb[t] /= dn[t]; io[t] /= dn[t]
				printf "disk %-7s %-7s mean %s over%s\n", d[i], tt[2], tt[2] == "seq-1M" ? sprintf("%.1f MiB/s", mb[t]) : sprintf("%d IOPS", io[t]), dv[t]
			}
		if (mb["a-pread", "seq-1M"] && io["a-pread", "rand-4K"])
			printf "disk (a)/(a%s): seq %.2f, rand %.2f (target >= 1); (b)/(a): seq %.2f, rand %.2f\n", "\x27",
				mb["a", "seq-1M"] / mb["a-pread", "seq-1M"], io["a", "rand-4K"] / io["a-pread", "rand-4K"],
				mb["b", "seq-1M"] / mb["a", "seq-1M"], io["b", "rand-4K"] / io["a", "rand-4K"]
		exit err
	}' "$out.tmp"
} | tee "$out"
rm -f "$out.tmp"
