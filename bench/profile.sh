#!/bin/bash
# Where the time goes: perf samples (cpu-clock) of the 6.12 VM, all CPUs,
# while bench/profile-work.c runs 64-op batches of 64-byte cold reads, then
# 1 MiB cold reads. Prints the top symbols and, for the module's hottest
# instructions, the source lines (addr2line on vmmem.ko).
#
#   bench/profile.sh [SECONDS]      (default 5 per load)
#
# The guest has no perf of its own: the host's (linux-perf, installed if
# missing) travels in a second initramfs archive with its libraries.
set -euo pipefail

cd "$(dirname "$0")/.."
secs=${1:-5}
out=build/profile
rel=${BENCH_KVER:-$(vm/kvers.sh | tr ' ' '\n' | grep '^6\.12\.' | tail -n 1)}
[ -n "$rel" ] || { echo "profile: no 6.12 kernel installed" >&2; exit 1; }
if ! command -v perf >/dev/null; then
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y linux-perf
fi
rm -rf "$out"
mkdir -p "$out/stage/usr/bin"

gcc -static -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iuapi \
	-Iuserlib -o "$out/profile-work" bench/profile-work.c \
	userlib/libvmmem.c -lpthread
vm/build-module.sh "$rel"
ko=build/$rel/src/kmod/vmmem.ko

perf=$(command -v perf)
cp "$perf" "$out/stage/usr/bin/perf"
for lib in $(ldd "$perf" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "$out/stage$(dirname "$lib")"
	cp -L "$lib" "$out/stage$lib"
done

cat >"$out/cmd.sh" <<EOS
mount -t tmpfs none /tmp
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
for load in batch64 bulk; do
	echo "PROFILE \$load"
	perf record -q -a -e cpu-clock -F 4000 -o /tmp/perf.\$load -- /bin/profile-work \$load $secs
	perf report -i /tmp/perf.\$load --stdio --no-children --sort sym --percent-limit 1 2>/dev/null | grep '%'
	echo "PROFILE-IPS \$load"
	perf script -i /tmp/perf.\$load -F ip,sym,symoff 2>/dev/null |
		awk '\$2 ~ /^vmmem_/ { print \$2 }' | sort | uniq -c | sort -rn | head -n 6
done
EOS
vm/mkinitramfs.sh "$out/base.cpio.gz" "$ko" - "$out/cmd.sh" "$out/profile-work"
(cd "$out/stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$out/perf.cpio.gz"
# The kernel unpacks concatenated archives in turn.
cat "$out/base.cpio.gz" "$out/perf.cpio.gz" >"$out/initrd.gz"

echo "  VM      $rel, perf for ${secs}s per load (log: $out/console.log)"
timeout -k 10 600 "${QEMU:-qemu-system-x86_64}" -accel "${QEMU_ACCEL:-tcg}" \
	-cpu "${QEMU_CPU:-max,-erms}" -m "${QEMU_MEM:-2G}" -smp "${QEMU_SMP:-2}" \
	-nodefaults -display none -serial stdio -no-reboot \
	-kernel "/boot/vmlinuz-$rel" -initrd "$out/initrd.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
	</dev/null >"$out/console.log" 2>&1 || true
tr -d '\r' <"$out/console.log" |
	sed -n '/^VMMEM-CMD-BEGIN$/,/^VMMEM-CMD-END/{/^VMMEM-CMD-/!p}' >"$out/report.txt"
grep -q '^PROFILE-IPS bulk' "$out/report.txt" || {
	cat "$out/console.log"
	echo "profile: the VM run produced no profile" >&2
	exit 1
}
# sym+0xoff of the module's hottest samples -> source lines.
while read -r line; do
	case $line in
	*vmmem_*+0x*)
		set -- $line
		sym=${2%%+*} off=${2##*+}
		base=$(nm "$ko" | awk -v s="$sym" '$3 == s { print $1 }')
		src=$(addr2line -i -e "$ko" "$(printf '0x%x' $((0x$base + off)))" |
			sed 's|.*/kmod/||' | paste -sd ' ' -)
		echo "$line  [$src]" ;;
	*) echo "$line" ;;
	esac
done <"$out/report.txt"
