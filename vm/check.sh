#!/bin/bash
# Run libvmmem's unit check on the host, then build vmmem.ko for each kernel
# and run the selftests in a VM per kernel.
#   vm/check.sh [TESTDIR]     kernels: $KVERS, default: vm/kvers.sh
# Prints per-kernel results and, as its last line,
#   "N passed, N failed, N skipped"
# summed over all kernels. A kernel whose module does not build, or whose run
# fails without a failing test to show for it, adds one failure.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
tests=${1:-build/selftests}
kvers=${KVERS:-$(vm/kvers.sh)}
pass=0 failn=0 skip=0 rc=0 lines=()

[ -n "$kvers" ] || { echo "check: no kernel with headers found (run make deps)" >&2; kvers=; rc=1; failn=1; }
[ -d "$tests" ] || { echo "check: no test binaries in $tests" >&2; tests=-; rc=1; }

# libvmmem's own logic, on the host against its mock of the module.
if make --no-print-directory -C userlib check; then
	pass=$((pass + 1))
	lines+=("host: libvmmem unit check passed")
else
	failn=$((failn + 1)) rc=1
	lines+=("host: libvmmem unit check FAILED")
fi

# vmmem-vmm's restore reader against mutated snapshot files, under ASan
# and UBSan (demo/vmm/snapfuzz.c; make fuzz-restore runs it longer).
if make --no-print-directory -C demo fuzz-restore FUZZ_SECONDS=5; then
	pass=$((pass + 1))
	lines+=("host: vmmem-vmm restore fuzzer passed")
else
	failn=$((failn + 1)) rc=1
	lines+=("host: vmmem-vmm restore fuzzer FAILED")
fi

for rel in $kvers; do
	if ! vm/build-module.sh "$rel"; then
		failn=$((failn + 1)); rc=1
		lines+=("$rel: module build FAILED")
		continue
	fi
	vm/run.sh -k "$rel" -t "$tests" || rc=1
	if [ -f "build/$rel/result" ]; then
		read -r p f s <"build/$rel/result"
	else
		p=0 f=1 s=0 # run.sh itself broke
	fi
	pass=$((pass + p)) failn=$((failn + f)) skip=$((skip + s))
	lines+=("$rel: $p passed, $f failed, $s skipped")
done

[ "$rc" -eq 0 ] || [ "$failn" -gt 0 ] || failn=1
echo
echo "Results per kernel:"
for l in ${lines[@]+"${lines[@]}"}; do echo "  $l"; done
echo "$pass passed, $failn failed, $skip skipped"
exit $rc
