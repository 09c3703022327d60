#!/bin/bash
# make bench: vmmem against vm-memory and memcpy, in boots of the 6.12 VM.
#
#   bench/run.sh [--no-deps] [--no-vm CSV]
#
#   --no-deps   skip the apt check
#   --no-vm     skip building and booting; re-make the report from CSV
#
# Environment: BENCH_KVER (default: newest installed 6.12.*), BENCH_BOOTS
# (VM boots, default 3), BENCH_ROUNDS (rounds per boot, default 3; see
# in-vm.sh), BENCH_KVM_MIB (dirty-bench's KVM memslot, default 64; 0: no
# KVM cells), VM_TIMEOUT (per boot) and
# the QEMU_* variables of vm/run.sh (QEMU_CPU defaults to max,-erms here:
# see below; keep it the same across runs).
# Output: tables on stdout; build/bench/{bench.csv,info.txt,bench.md,
# bench.png}, copied to bench/results/{latest.csv,latest.md,ratios.png};
# the dirty log's: build/bench/{dirty.csv,dirty.md}, copied to
# bench/results/dirty.md (--no-vm takes dirty.csv from CSV's directory).
set -euo pipefail

cd "$(dirname "$0")/.."
out=build/bench
deps=1 csv_in= vm_failed=
while [ $# -gt 0 ]; do
	case $1 in
	--no-deps) deps= ;;
	--no-vm) csv_in=$2; shift ;;
	*) echo "usage: $0 [--no-deps] [--no-vm CSV]" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$out"

if [ -n "$deps" ]; then
	vm/deps.sh
	missing=
	for p in librust-vm-memory-dev gnuplot-nox; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' ||
			missing="$missing $p"
	done
	command -v cargo >/dev/null || [ -x "$HOME/.cargo/bin/cargo" ] ||
		missing="$missing cargo"
	if [ -n "$missing" ]; then
		echo "bench: installing:$missing"
		SUDO=
		[ "$(id -u)" = 0 ] || SUDO=sudo
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
		# shellcheck disable=SC2086 # one word per package
		$SUDO env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends $missing
	fi
fi

if [ -z "$csv_in" ]; then
	rel=${BENCH_KVER:-$(vm/kvers.sh | tr ' ' '\n' | grep '^6\.12\.' | tail -n 1)}
	[ -n "$rel" ] || { echo "bench: no 6.12 kernel installed" >&2; exit 1; }

	echo "  CARGO   bench/vm-memory-bench"
	PATH=$PATH:$HOME/.cargo/bin
	# Non-PIE, so that the memcpy address it prints can be named with nm.
	# Also builds libvmm.a: vm-memory's copies, linked into vmmem-bench.
	(cd bench/vm-memory-bench &&
		CARGO_TARGET_DIR=$PWD/../../$out/cargo \
		RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
		cargo build --offline --release --quiet \
			--target x86_64-unknown-linux-gnu)
	rel_dir=$out/cargo/x86_64-unknown-linux-gnu/release
	cp "$rel_dir/vm-memory-bench" "$out/"

	# Static, so they run in the busybox initramfs. libvmmem is compiled
	# here from source with its own flags rather than taken from userlib/.
	echo "  CC      bench/vmmem-bench bench/memcpy-bench bench/dirty-bench"
	CFLAGS="-O2 -Wall -Wextra -Werror -std=gnu11"
	gcc $CFLAGS -D_GNU_SOURCE -Iuapi -c -o "$out/libvmmem.o" userlib/libvmmem.c
	gcc -static -no-pie $CFLAGS -Iuapi -Iuserlib -o "$out/vmmem-bench" \
		bench/vmmem-bench.c "$out/libvmmem.o" "$rel_dir/libvmm.a" \
		-lpthread -ldl -lm
	gcc -static -no-pie $CFLAGS -Iuapi -Iuserlib -o "$out/dirty-bench" \
		bench/dirty-bench.c "$out/libvmmem.o" "$rel_dir/libvmm.a" \
		-lpthread -ldl -lm
	gcc -static $CFLAGS -o "$out/memcpy-bench" bench/memcpy-bench.c

	vm/build-module.sh "$rel"
	# Same emulated CPU for all three programs, in the same boot. ERMS is
	# off by default: TCG runs `rep movsb` a byte per iteration, many
	# times slower than the unrolled and vector copies that the kernel
	# and glibc pick without it (hardware runs them at similar speeds).
	# QEMU_CPU=max measures with it.
	export QEMU_CPU=${QEMU_CPU:-max,-erms}
	rounds=${BENCH_ROUNDS:-3} boots=${BENCH_BOOTS:-3}
	case $rounds$boots in
	[1-9][1-9]) ;;
	*) echo "bench: BENCH_ROUNDS and BENCH_BOOTS must be 1-9" >&2; exit 2 ;;
	esac
	# Boots differ more than rounds of one boot do (where the guest's
	# pages land, say): every figure is taken over several of each.
	kvm_mib=${BENCH_KVM_MIB:-64}
	case $kvm_mib in
	[0-9] | [1-9][0-9] | [1-9][0-9][0-9]) ;;
	*) echo "bench: BENCH_KVM_MIB must be 0-999" >&2; exit 2 ;;
	esac
	echo "sample,impl,path,workload,op,size,ops,ns_op,mb_s" >"$out/bench.csv"
	echo "sample,impl,path,workload,op,size,ops,ns_op,mb_s" >"$out/dirty.csv"
	: >"$out/console.txt"
	for boot in $(seq "$boots"); do
		echo "  BENCH   boot $boot of $boots, $rounds rounds"
		# A failed run (oops, timeout) still gets its figures reported.
		# dirty-bench: about a minute a round, most of it the KVM
		# guest's stores (a nested fault each).
		VM_TIMEOUT=${VM_TIMEOUT:-$((180 + 150 * rounds))} vm/run.sh -k "$rel" \
			-b "$out/vmmem-bench" -b "$out/memcpy-bench" \
			-b "$out/vm-memory-bench" -b "$out/dirty-bench" \
			-b bench/in-vm.sh \
			-c "sh /bin/in-vm.sh $rounds $boot $kvm_mib" \
			>"$out/console-$boot.txt" \
			2>"$out/vm-errors.txt" || vm_failed=1
		cat "$out/console-$boot.txt" >>"$out/console.txt"
		# Only well-formed rows: kernel messages may share the console.
		sed -n '/^BENCH-CSV-BEGIN$/,/^BENCH-CSV-END$/{/^BENCH-CSV-/!p}' \
			"$out/console-$boot.txt" | grep -E '^[0-9]+\.[0-9]+,[a-z]' \
			>>"$out/bench.csv" || true
		sed -n 's/^DIRTY-CSV //p' "$out/console-$boot.txt" |
			grep -E '^[0-9]+\.[0-9]+,[a-z-]+,[a-z_-]+,dirty-[a-z]+,[a-z0-9]+,[0-9]+,[0-9]+,[0-9.]+,[0-9.]+$' \
			>>"$out/dirty.csv" || true
		[ -z "$vm_failed" ] || break
	done
	grep -q '^BENCH-CSV-BEGIN$' "$out/console.txt" || {
		cat "$out/console.txt" "$out/vm-errors.txt"
		echo "bench: the VM run produced no figures" >&2
		exit 1
	}
	echo "rounds: $rounds per boot; boots: $boots" >"$out/info.txt"
	{
		sed -n 's/^BENCH-INFO //p' "$out/console.txt"
		echo "qemu: $(${QEMU:-qemu-system-x86_64} --version | head -n 1)," \
			"-accel ${QEMU_ACCEL:-tcg} -cpu ${QEMU_CPU:-max}" \
			"-smp ${QEMU_SMP:-2} -m ${QEMU_MEM:-2G}; host: $(nproc) CPUs," \
			"$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
		# Name the glibc memcpy variant each static binary resolved.
		sed -n 's/^# \(.*\): memcpy=\(0x[0-9a-f]*\)\(.*\)$/\1 \2 \3/p' \
			"$out/console.txt" | while read -r impl addr rest; do
			hex=$(printf '%016x' "$addr")
			sym=$(nm "$out/$impl-bench" |
				awk -v a="$hex" '!s && $1 == a && $3 ~ /^__mem(move|cpy)_/ { s = $3 } END { print s }')
			echo "$impl: glibc memcpy = ${sym:-$addr} $rest"
		done
		grep '^# .* took ' "$out/console.txt" | sed 's/^# //'
		grep '^# vmmem: libvmmem' "$out/console.txt" | sed 's/^# //'
	} >>"$out/info.txt"
	csv_in=$out/bench.csv
fi

bench/report.sh "$csv_in" "$out/info.txt" "$out"
mkdir -p bench/results
cp "$out/bench.md" bench/results/latest.md
cp "$csv_in" bench/results/latest.csv
[ ! -f "$out/bench.png" ] || cp "$out/bench.png" bench/results/ratios.png

# The dirty log's table (dirty-bench.c, dirty-report.awk).
dirty_csv=$(dirname "$csv_in")/dirty.csv
if [ -f "$dirty_csv" ] && [ "$(wc -l <"$dirty_csv")" -gt 1 ]; then
	awk -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" \
		-v info_rounds="$(sed -n 's/^rounds: //p' "$(dirname "$csv_in")/info.txt" 2>/dev/null)" \
		-f bench/dirty-report.awk "$dirty_csv" >"$out/dirty.md.tmp"
	mv "$out/dirty.md.tmp" "$out/dirty.md"
	echo
	cat "$out/dirty.md"
	cp "$out/dirty.md" bench/results/dirty.md
else
	echo "bench: no dirty-log figures ($dirty_csv)" >&2
fi

if [ -n "$vm_failed" ]; then
	cat "$out/vm-errors.txt" >&2
	echo "bench: the VM run FAILED (figures above may be incomplete)" >&2
	exit 1
fi
