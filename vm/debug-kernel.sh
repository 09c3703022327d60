#!/bin/bash
# Builds the debug kernel for `make check-debug`: Linux 6.12 from Debian's
# linux-source-6.12, x86_64 defconfig + kvm_guest.config + the checkers
# below. The result is cached under build/debug-kernel/<key>/, keyed by the
# source package version and this script, so a rebuild happens only when
# either changes. Prints the cache directory (bzImage, Module.symvers,
# and the configured tree to build modules against) on stdout.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tarball=/usr/src/linux-source-6.12.tar.xz
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$(printf '%s\n' "$srcver" | cat - "$0" | sha256sum | cut -c1-16)
out=$top/build/debug-kernel/$key
log=$top/build/debug-kernel/build-$key.log

if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi

need=()
for p in bc flex bison libelf-dev libssl-dev python3 xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${need[@]}" >&2
fi

rm -rf "$out"
mkdir -p "$out"
echo "debug kernel: unpacking $tarball ($srcver)" >&2
tar -xJf "$tarball" -C "$out"
src=$out/linux-source-6.12

cat > "$out/debug.config" <<'CFG'
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_MODULE_SIG=n
CONFIG_DEBUG_INFO_NONE=y
CONFIG_DEVTMPFS=y
CONFIG_MEMCG=y
CONFIG_HUGETLBFS=y
CONFIG_TRANSPARENT_HUGEPAGE=y
CONFIG_KASAN=y
CONFIG_KASAN_GENERIC=y
CONFIG_KASAN_INLINE=y
CONFIG_KFENCE=y
CONFIG_UBSAN=y
CONFIG_UBSAN_BOUNDS=y
CONFIG_PROVE_LOCKING=y
CONFIG_DEBUG_ATOMIC_SLEEP=y
CONFIG_DEBUG_VM=y
CONFIG_DEBUG_FS=y
CONFIG_DEBUG_KMEMLEAK=y
CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE=16000
CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN=n
CONFIG_FAULT_INJECTION=y
CONFIG_FAILSLAB=y
CONFIG_FAIL_PAGE_ALLOC=y
CONFIG_FAULT_INJECTION_DEBUG_FS=y
CONFIG_SOFTLOCKUP_DETECTOR=y
CONFIG_DETECT_HUNG_TASK=y
CONFIG_USERFAULTFD=y
CONFIG_FUSE_FS=y
CONFIG_BLK_DEV_LOOP=y
CONFIG_BLK_DEV_DM=y
CONFIG_DM_DELAY=y
CONFIG_IO_URING=y
CONFIG_AIO=y
CONFIG_EXT4_FS=y
CONFIG_KVM=y
CONFIG_KVM_AMD=y
CONFIG_DRM=y
CONFIG_DRM_VMWGFX=m
CFG

echo "debug kernel: building (about 20 min on 2 cores; log: $log)" >&2
(
	cd "$src"
	make -s x86_64_defconfig
	scripts/kconfig/merge_config.sh -m .config \
		kernel/configs/kvm_guest.config "$out/debug.config"
	make -s olddefconfig
	for opt in KASAN PROVE_LOCKING DEBUG_KMEMLEAK FAILSLAB MODULES \
		USERFAULTFD FUSE_FS DETECT_HUNG_TASK SOFTLOCKUP_DETECTOR \
		BLK_DEV_LOOP BLK_DEV_DM DM_DELAY IO_URING AIO EXT4_FS KVM_AMD \
		MAPPING_DIRTY_HELPERS; do
		grep -q "^CONFIG_$opt=y" .config ||
			{ echo "debug kernel: CONFIG_$opt did not stick" >&2; exit 1; }
	done
	make -j"$(nproc)" bzImage modules_prepare
	make -j"$(nproc)" modules
) > "$log" 2>&1 || { echo "debug kernel build failed, see $log" >&2; tail -20 "$log" >&2; exit 1; }

cp "$src/arch/x86/boot/bzImage" "$out/bzImage"
touch "$out/.done"
echo "$out"
