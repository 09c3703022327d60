#!/bin/sh
# Runs in the VM (vm/run.sh -c): the three programs, one after the other, in
# one boot. run.sh cuts the CSV out of the console between the markers.
echo 0 >/proc/sys/kernel/randomize_va_space
echo "BENCH-INFO kernel: $(uname -r)"
echo "BENCH-INFO cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2-)"
echo "BENCH-INFO $(grep -m1 '^flags' /proc/cpuinfo | tr -s '\t ' ' ')"
echo "BENCH-INFO aslr: $(cat /proc/sys/kernel/randomize_va_space)"
echo "BENCH-INFO thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
echo "BENCH-INFO mem: $(grep MemTotal /proc/meminfo | tr -s ' ')"
rc=0
echo "BENCH-CSV-BEGIN"
echo "impl,path,workload,op,size,ops,ns_op,mb_s"
for p in memcpy-bench vm-memory-bench vmmem-bench; do
	t0=$(date +%s)
	/bin/$p || { rc=1; echo "# $p failed"; }
	echo "# $p took $(($(date +%s) - t0)) s"
done
echo "BENCH-CSV-END"
exit $rc
