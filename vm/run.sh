#!/bin/bash
# Boot one kernel in QEMU with vmmem.ko and run the tests (or one command).
#
#   vm/run.sh -k RELEASE [-m MODULE.ko] [-t TESTDIR] [-c 'COMMAND'] [-b BIN]...
#
#   -m  module (default build/<rel>/src/kmod/vmmem.ko, see vm/build-module.sh)
#   -t  directory of static test binaries, run in sorted order as /tests/*
#   -c  run this shell command in the VM instead of the tests; its output is
#       printed and its exit status becomes ours
#   -b  extra static binary to put in the VM's /bin (repeatable)
#
# Environment: QEMU (qemu-system-x86_64), QEMU_ACCEL (tcg; kvm hangs on some
# hosts), QEMU_CPU (max), QEMU_MEM (2G), QEMU_SMP (2), QEMU_APPEND (extra
# kernel arguments), VM_TIMEOUT (600 s), KERNEL (/boot/vmlinuz-<rel>),
# VM_MODULES (distribution modules to load first: loop, ext4 and the
# crc32c it needs, fuse, kvm-amd, dm-delay and dm-mod), VM_DYNBINS (dynamically linked programs
# to carry: the vhost-user backends),
# VM_OUT (where this run's files go: build/<rel>), VM_VMM (0: leave out
# vmmem-vmm and its test, which go to /vmm when built).
#
# Writes <out>/console.log and <out>/result ("PASS FAIL SKIP").
# Exits non-zero on any failure: a failing or crashing test, insmod/rmmod
# failure, no /dev/vmmem, a kernel warning/oops, or a timeout.
set -euo pipefail

cd "$(dirname "$0")/.."
rel='' ko='' tests=- cmd='' bins=()
while getopts k:m:t:c:b: opt; do
	case $opt in
	k) rel=$OPTARG ;;
	m) ko=$OPTARG ;;
	t) tests=$OPTARG ;;
	c) cmd=$OPTARG ;;
	b) bins+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
[ -n "$rel" ] || { echo "usage: $0 -k RELEASE [-m KO] [-t DIR] [-c CMD] [-b BIN]..." >&2; exit 2; }

out=${VM_OUT:-build/$rel}
ko=${ko:-build/$rel/src/kmod/vmmem.ko}
kernel=${KERNEL:-/boot/vmlinuz-$rel}
initrd=$out/initramfs.cpio.gz
log=$out/console.log
mkdir -p "$out"
rm -f "$out/result"

cmdfile=-
if [ -n "$cmd" ]; then
	cmdfile=$out/cmd.sh
	printf '%s\n' "$cmd" >"$cmdfile"
fi
# Helpers of vm/init, if built (make vm-tools).
[ ! -x build/vm/kvm-hold ] || bins+=(build/vm/kvm-hold)
# vmmem-vmm, the guest it boots and its test, if built (make demo-bin):
# to /vmm (VM_VMM=0: not carried).
vmm_files=
if [ "${VM_VMM:-1}" != 0 ] && [ -x demo/vmm/vmmem-vmm ] &&
	[ -x demo/vmm/snapfuzz ] &&
	[ -f build/vmm/guest.cpio.gz ] && [ -f build/vmm/bzImage ]; then
	vmm_files="demo/vmm/vmmem-vmm demo/vmm/snapfuzz build/vmm/guest.cpio.gz build/vmm/bzImage demo/vmm/vmm-test.sh demo/vmm/demo.sh demo/vmm/bench.sh"
fi
MODULES_REL=$rel MODULES=${VM_MODULES-loop crc32c_generic ext4 fuse kvm_amd dm_delay} \
DYNBINS=${VM_DYNBINS-/usr/bin/qemu-storage-daemon /usr/lib/qemu/virtiofsd} \
VMM_FILES=$vmm_files \
	vm/mkinitramfs.sh "$initrd" "$ko" "$tests" "$cmdfile" ${bins[@]+"${bins[@]}"}

echo "  VM      $rel (log: $log)"
start=$(date +%s)
set +e
# stdin is /dev/null so nothing in CI can block QEMU or be read by the guest.
timeout -k 10 "${VM_TIMEOUT:-600}" "${QEMU:-qemu-system-x86_64}" \
	-accel "${QEMU_ACCEL:-tcg}" -cpu "${QEMU_CPU:-max}" \
	-m "${QEMU_MEM:-2G}" -smp "${QEMU_SMP:-2}" \
	-nodefaults -display none -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init ${QEMU_APPEND:-}" \
	</dev/null >"$log" 2>&1
qemu_rc=$?
set -e
secs=$(($(date +%s) - start))

# The serial console ends lines with \r\n; parse a cleaned copy.
clean=$(tr -d '\r' <"$log")
errors=()
fail() { errors+=("$1"); }

done_line=$(grep -m1 '^VMMEM-DONE ' <<<"$clean" || true)
if [ -z "$done_line" ]; then
	last=$(grep '^VMMEM-TEST-START ' <<<"$clean" | tail -n 1 | cut -d' ' -f2 || true)
	if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
		fail "VM timed out after ${VM_TIMEOUT:-600}s (last test started: ${last:-none})"
	else
		fail "VM stopped before finishing, qemu rc=$qemu_rc (last test started: ${last:-none})"
	fi
fi
grep -q '^VMMEM-INSMOD rc=0$' <<<"$clean" || fail "insmod vmmem.ko failed"
! grep '^VMMEM-MODULE .* failed$' <<<"$clean" || fail "a distribution module failed to load"
grep -q '^VMMEM-DEVNODE present=1$' <<<"$clean" || fail "/dev/vmmem missing after insmod"
if [ -n "$done_line" ]; then
	case $done_line in
	*" rmmod=0 "* | *"insmod="[1-9]*" rmmod=- "*) ;; # not loaded: no rmmod
	*) fail "rmmod vmmem failed ($done_line)" ;;
	esac
	# Taint bits 7 (D: oops) and 9 (W: warning); O/E taints are expected.
	t=${done_line##*tainted=}
	if (((t >> 7) & 1 || (t >> 9) & 1)); then
		fail "kernel tainted by oops/warning (tainted=$t)"
	fi
fi
# A kernel warning starts its line ("WARNING: CPU: ...", lockdep's); a
# boot message may mention the word (SRSO's "...: WARNING: See ...").
bad=$(grep -E 'BUG:|\] WARNING:|^WARNING:|Oops|general protection|refcount_t:|list_del corruption|Call Trace|UBSAN:|KASAN:|unreferenced object|blocked for more than|detected stall|Out of memory|oom-kill' <<<"$clean" | head -n 5 || true)
[ -z "$bad" ] || fail "kernel log reports a problem:"$'\n'"$bad"

if [ -n "$cmd" ]; then
	# Command mode: show the command's output, use its exit status.
	sed -n '/^VMMEM-CMD-BEGIN$/,/^VMMEM-CMD-END/{/^VMMEM-CMD-/!p}' <<<"$clean"
	crc=$(sed -n 's/^VMMEM-CMD-END rc=//p' <<<"$clean")
	[ "${crc:-x}" = 0 ] || fail "command '$cmd' failed (rc=${crc:-none})"
	pass=0 failn=0 skip=0
else
	# Per test binary: sum the kselftest "# Totals:" line; a binary that
	# exits non-zero without reporting a failure (e.g. crashed) counts as
	# one failure, exit status 4 (KSFT_SKIP) without totals as one skip.
	read -r pass failn skip < <(awk '
	/^VMMEM-TEST-START / { cur = $2; out = ""; tot = 0; tf = 0; next }
	/^VMMEM-TEST-END / {
		rc = substr($3, 4)
		if (!tot && rc == 4) s++
		else if (!tot || (rc != 0 && tf == 0)) { f++; tf = 1 }
		# Show the output of each failing binary on stderr.
		if (tf) printf "---- %s (exit %s) ----\n%s", cur, rc, out > "/dev/stderr"
		cur = ""; next
	}
	cur == "" { next }
	# Keep what a failure report needs, not the passing tests.
	!/^ok |^#  RUN |^# +OK / { out = out $0 "\n" }
	/^# Totals: / {
		for (i = 3; i <= NF; i++) { split($i, kv, ":"); c[kv[1]] = kv[2] }
		p += c["pass"] + c["xfail"]; tf = c["fail"] + c["error"] + c["xpass"]
		f += tf; s += c["skip"]; tot = 1
	}
	END { print p + 0, f + 0, s + 0 }
	' <<<"$clean")
	# A binary that started but never ended (VM died) is a failure too.
	started=$(grep -c '^VMMEM-TEST-START ' <<<"$clean" || true)
	ended=$(grep -c '^VMMEM-TEST-END ' <<<"$clean" || true)
	failn=$((failn + started - ended))
	[ "$failn" -eq 0 ] || fail "$failn test(s) failed"
	[ "$started" -gt 0 ] || [ "$tests" = - ] || fail "no test binary was run"
fi

# Any failure that no test accounts for counts as one failed test, so that
# the summary never reads "0 failed" for a failing run.
if [ ${#errors[@]} -gt 0 ] && [ "$failn" -eq 0 ]; then failn=1; fi
echo "$pass $failn $skip" >"$out/result"

if [ -z "$cmd" ]; then
	echo "  RESULT  $rel: $pass passed, $failn failed, $skip skipped (${secs}s)"
fi
if [ ${#errors[@]} -gt 0 ]; then
	for e in "${errors[@]}"; do echo "FAIL $rel: $e" >&2; done
	echo "FAIL $rel: console log: $PWD/$log" >&2
	exit 1
fi
