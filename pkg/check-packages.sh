#!/bin/bash
# `make check-packages`: the Debian packages, installed on this machine.
#   1. build them (pkg/build-debs.sh: installs the build dependencies and
#      lintian) and require lintian to be clean but for debian/'s overrides;
#   2. install vmmem-dkms, libvmmem1, libvmmem-dev and vmmem-utils with apt
#      (root), and check that DKMS built and installed vmmem.ko, with the
#      tree's version, for each kernel that vm/kvers.sh tests; the udev rule
#      and the opt-in modules-load.d file; that a kernel's postinst hook
#      rebuilds the module (AUTOINSTALL);
#   3. build a program against the installed library with
#      `pkg-config --cflags --libs vmmem`, shared and static;
#   4. boot the test VM on each of PKG_VM_KVERS (default: both kernels)
#      with the DKMS-built module and run the installed /usr/bin/vmmem-demo
#      and the two programs of 3 (the shared one with the installed
#      libvmmem.so.1) there;
#   5. purge the packages and check that nothing of them is left (dpkg,
#      dkms status, /usr/src, /var/lib/dkms, the modules, every file the
#      packages had installed);
#   6. the same DKMS module from the tree: `make dkms-install` for one kernel,
#      then `make dkms-uninstall`, and nothing left.
# The packages are removed on any exit, also on failure or SIGTERM. It
# refuses to run where vmmem is installed already (it would remove it).
# Ends with "N passed, N failed, N skipped"; exits non-zero on a failure.
# Environment: DEB_TREE (see pkg/build-debs.sh), PKG_VM_KVERS, VM_TIMEOUT.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
out=build/pkg-check
debs=build/deb
version=$(cat VERSION)
pkgs="vmmem-dkms libvmmem1 libvmmem-dev vmmem-utils"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Other sessions' apt may hold the lock for a while: wait, do not fail.
apt=(apt-get -y -q -o DPkg::Lock::Timeout=600)

pass=0 failn=0 skip=0
mok_before=1
ok() { pass=$((pass + 1)); echo "  PASS    $1"; }
bad() { failn=$((failn + 1)); echo "  FAIL    $1" >&2; }
skipped() { skip=$((skip + 1)); echo "  SKIP    $1"; }
finish() {
	echo
	echo "$pass passed, $failn failed, $skip skipped"
	[ "$failn" -eq 0 ]
	exit
}
start=$(date +%s)
stamp() { echo "  TIME    $1: $(($(date +%s) - start)) s"; }

rm -rf "$out"
mkdir -p "$out"

# What is ours on this machine: packages (any state but not-installed),
# DKMS entries, module source trees, built modules.
leftovers() {
	local p st
	for p in $pkgs; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case $st in "" | un*) ;; *) echo "package $p: $st" ;; esac
	done
	command -v dkms >/dev/null && dkms status -m vmmem 2>/dev/null | sed 's/^/dkms: /'
	[ ! -e /var/lib/dkms/vmmem ] || echo "/var/lib/dkms/vmmem"
	ls -d /usr/src/vmmem-* 2>/dev/null
	ls /lib/modules/*/updates/dkms/vmmem.ko* 2>/dev/null
	# The packages' files by name, in case dpkg forgot one.
	ls -d /usr/lib/*/libvmmem.* /usr/lib/*/pkgconfig/vmmem.pc /usr/include/vmmem.h \
		/usr/include/linux/vmmem.h /lib/udev/rules.d/60-vmmem.rules \
		/usr/lib/udev/rules.d/60-vmmem.rules /etc/modules-load.d/vmmem.conf \
		/usr/bin/vmmem-demo /usr/bin/vmmem-vmm /usr/share/man/man1/vmmem-demo.1.gz \
		/usr/share/man/man1/vmmem-vmm.1.gz 2>/dev/null
	grep -l '/vmmem\.ko' /lib/modules/*/modules.dep 2>/dev/null | sed 's/^/mentioned in /'
	return 0
}

left=$(leftovers)
if [ -n "$left" ]; then
	echo "check-packages: vmmem is installed on this machine already; remove it first:" >&2
	echo "$left" >&2
	bad "machine is clean before the test"
	finish
fi

# DKMS creates a module signing key the first time it signs a module; if it
# is ours, it goes at the end with the rest.
[ -e /var/lib/dkms/mok.key ] || mok_before=0

# What this run installed goes on any exit: the packages (installed=1), the
# tree's DKMS module (tree_dkms=1), the signing key.
installed=0 tree_dkms=0
purge() {
	local p st
	# shellcheck disable=SC2086 # one word per package
	$SUDO "${apt[@]}" purge $pkgs >"$out/purge.log" 2>&1 && return 0
	# After an install that was interrupted (SIGTERM, the CI bound) apt
	# refuses to run until dpkg --configure -a; dpkg purges the packages
	# in whatever state they are, once the dpkg that was signalled is gone.
	echo "  PURGE   apt-get purge failed: dpkg --purge"
	for _ in $(seq 30); do
		# shellcheck disable=SC2086 # one word per package
		$SUDO dpkg --purge $pkgs >>"$out/purge.log" 2>&1 && break
		sleep 2
	done
	# Whatever else that dpkg left half-done (dkms, come with the install).
	$SUDO dpkg --configure -a >>"$out/purge.log" 2>&1
	for p in $pkgs; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case $st in "" | un*) ;; *) return 1 ;; esac
	done
}
cleanup() {
	local rc=0
	if [ "$installed" = 1 ]; then
		installed=0
		echo "  PURGE   $pkgs"
		purge || { cat "$out/purge.log" >&2; rc=1; }
	fi
	if [ "$tree_dkms" = 1 ]; then
		tree_dkms=0
		$SUDO make --no-print-directory dkms-uninstall >>"$out/dkms-uninstall.log" 2>&1 ||
			{ cat "$out/dkms-uninstall.log" >&2; rc=1; }
	fi
	return $rc
}
dyndir=
final_cleanup() {
	cleanup
	[ -z "$dyndir" ] || rm -rf "$dyndir"
	if [ "$mok_before" = 0 ] && [ -e /var/lib/dkms/mok.key ]; then
		echo "  CLEAN   /var/lib/dkms/mok.{key,pub}: made by this run's DKMS builds"
		$SUDO rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
	fi
}
trap 'final_cleanup' EXIT
trap 'final_cleanup; exit 143' TERM
trap 'final_cleanup; exit 130' INT

# What this test needs besides vm/deps.sh's: pkg-config (to build against
# the installed library). dkms comes as vmmem-dkms's dependency, the build
# dependencies and lintian with pkg/build-debs.sh.
if ! command -v pkg-config >/dev/null 2>&1; then
	echo "  APT     pkg-config"
	$SUDO "${apt[@]}" install --no-install-recommends pkg-config >"$out/apt.log" 2>&1 ||
		{ cat "$out/apt.log" >&2; bad "apt-get install pkg-config"; finish; }
fi

# 1. Build, lintian.
if pkg/build-debs.sh "$debs"; then
	ok "packages built (dpkg-buildpackage -us -uc)"
else
	bad "packages built"
	finish
fi
stamp build
tags=$(grep -E '^[EWIPX]: ' "$debs/lintian.txt" || true)
lrc=$(cat "$debs/lintian.rc" 2>/dev/null || echo none)
if [ "$lrc" != 0 ] && [ -z "$tags" ]; then
	cat "$debs/lintian.txt" "$debs/lintian.err" >&2
	bad "lintian failed without a tag (exit status $lrc)"
elif [ -z "$tags" ]; then
	ok "lintian: no tag but the overridden ones ($(grep -c '^O: ' "$debs/lintian.txt" || true) overrides)"
else
	echo "$tags" >&2
	bad "lintian: $(wc -l <<<"$tags") tag(s) (build/deb/lintian.txt)"
fi

# One version everywhere: VERSION, debian/changelog, the packages, the
# DKMS source's dkms.conf, the shared library's file name.
vers='' vbad=0
v() { vers+=" $1=${2:-none}"; [ "${2:-}" = "$version" ] || vbad=1; }
v changelog "$(sed -n '1s/^vmmem (\([^)]*\)).*/\1/p' debian/changelog)"
for p in $pkgs; do
	f=$(ls "$debs/${p}_"*.deb 2>/dev/null | head -n 1)
	v "$p" "$( [ -z "$f" ] || dpkg-deb -f "$f" Version)"
done
f=$(ls "$debs"/vmmem-dkms_*.deb 2>/dev/null | head -n 1)
v dkms.conf "$( [ -z "$f" ] || dpkg-deb --fsys-tarfile "$f" |
	tar -xOf - "./usr/src/vmmem-$version/dkms.conf" 2>/dev/null |
	sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p')"
f=$(ls "$debs"/libvmmem1_*.deb 2>/dev/null | head -n 1)
v libvmmem.so "$( [ -z "$f" ] || dpkg-deb -c "$f" |
	sed -n 's|.*/libvmmem\.so\.\([0-9.]*\)$|\1|p' | sort -V | tail -n 1)"
if [ "$vbad" = 0 ]; then
	ok "one version, $version: VERSION, debian/changelog, the 4 packages, dkms.conf, libvmmem.so.$version"
else
	bad "versions disagree with VERSION ($version):$vers"
fi

# 2. Install; DKMS builds the module in vmmem-dkms's postinst.
files=()
for p in $pkgs; do files+=("./$debs/${p}_${version}_"*.deb); done
echo "  INSTALL ${files[*]##*/}"
installed=1
if $SUDO "${apt[@]}" install --no-install-recommends "${files[@]}" >"$out/install.log" 2>&1; then
	ok "packages installed (apt-get install)"
else
	tail -n 30 "$out/install.log" >&2
	bad "packages installed (log: $out/install.log)"
	finish
fi
stamp install
sed -n '/Building for/,/^Setting up/p' "$out/install.log" | grep -v '^Setting up' | sed 's/^/          /'
# Every file the packages installed, to be gone after the purge.
for p in $pkgs; do dpkg-query -L "$p"; done | sort -u >"$out/files.txt"

kvers=$(vm/kvers.sh)
[ -n "$kvers" ] || bad "no kernel with headers and an image (vm/kvers.sh)"
declare -A ko
for rel in $kvers; do
	st=$(dkms status -m vmmem -v "$version" -k "$rel" 2>/dev/null)
	f=$(ls /lib/modules/"$rel"/updates/dkms/vmmem.ko* 2>/dev/null | head -n 1)
	v=$( [ -z "$f" ] || modinfo -F version "$f" 2>/dev/null)
	vm=$( [ -z "$f" ] || modinfo -F vermagic "$f" 2>/dev/null)
	m=$(modinfo -k "$rel" -n vmmem 2>/dev/null)
	if [[ $st == *": installed"* ]] && [ -n "$f" ] && [ "$v" = "$version" ] &&
		[[ $vm == "$rel "* ]] && [ "$m" = "$f" ]; then
		ok "dkms: vmmem $version installed for $rel (${f#/lib/modules/"$rel"/})"
		ko[$rel]=$f
	else
		bad "dkms: vmmem for $rel: status '$st', module '${f:-none}', version '${v:-none}', vermagic '${vm:-none}', modprobe finds '${m:-none}'"
	fi
done
# The udev rule and the opt-in boot entry.
if grep -q 'KERNEL=="vmmem", GROUP="kvm", MODE="0660"' /lib/udev/rules.d/60-vmmem.rules 2>/dev/null &&
	grep -q '^#vmmem$' /etc/modules-load.d/vmmem.conf 2>/dev/null &&
	! grep -q '^vmmem' /etc/modules-load.d/vmmem.conf; then
	ok "udev rule (group kvm, 0660) and modules-load.d entry (commented out) installed"
else
	bad "udev rule or modules-load.d entry missing or wrong"
fi

# The programs of vmmem-utils: on PATH, with their man pages; vmmem-vmm
# needs /dev/kvm to do more than its usage (vmmem-demo runs in the VM, 4.).
# (/lib is /usr/lib on a merged-/usr system: compare real paths.)
uses_lib() {
	local l
	l=$(ldd "$1" 2>/dev/null | awk '$1 == "libvmmem.so.1" { print $3 }')
	[ -n "$l" ] && [ "$(realpath "$l")" = "$(realpath "/usr/lib/$multiarch/libvmmem.so.1")" ]
}
if [ "$(command -v vmmem-demo)" = /usr/bin/vmmem-demo ] &&
	[ "$(command -v vmmem-vmm)" = /usr/bin/vmmem-vmm ] &&
	uses_lib /usr/bin/vmmem-demo && uses_lib /usr/bin/vmmem-vmm &&
	usage=$(/usr/bin/vmmem-vmm --help 2>&1) && [[ $usage == "usage: vmmem-vmm "* ]] &&
	[ -f /usr/share/man/man1/vmmem-demo.1.gz ] && [ -f /usr/share/man/man1/vmmem-vmm.1.gz ]; then
	ok "vmmem-utils: /usr/bin/vmmem-demo, /usr/bin/vmmem-vmm (--help), on the installed libvmmem.so.1, their man pages"
else
	bad "vmmem-utils: programs, their libvmmem.so.1 or man pages wrong: $(ls -l /usr/bin/vmmem-* 2>&1; ldd /usr/bin/vmmem-demo 2>&1)"
fi

# AUTOINSTALL: a kernel installed later gets the module. Take one kernel's
# away, then run what a kernel package's postinst runs for it.
rel=${kvers%% *}
if [ -n "$rel" ] && [ -n "${ko[$rel]:-}" ]; then
	$SUDO dkms remove -m vmmem -v "$version" -k "$rel" >"$out/autoinstall.log" 2>&1
	gone=$( [ -e "${ko[$rel]}" ] || echo yes)
	$SUDO /etc/kernel/postinst.d/dkms "$rel" >>"$out/autoinstall.log" 2>&1
	if [ "$gone" = yes ] && [ -e "${ko[$rel]}" ] &&
		[[ $(dkms status -m vmmem -v "$version" -k "$rel" 2>/dev/null) == *": installed"* ]]; then
		ok "dkms AUTOINSTALL: removed for $rel, rebuilt by /etc/kernel/postinst.d/dkms $rel"
	else
		cat "$out/autoinstall.log" >&2
		bad "dkms AUTOINSTALL for $rel (log: $out/autoinstall.log)"
	fi
fi

# 3. A program against the installed library.
cflags=$(pkg-config --cflags vmmem 2>&1) && libs=$(pkg-config --libs vmmem 2>&1) &&
	slibs=$(pkg-config --static --libs vmmem 2>&1)
pcv=$(pkg-config --modversion vmmem 2>&1)
# The shared one goes into the VM at the path it has here (vm/run.sh's
# VM_DYNBINS), so not under /tmp, where the VM mounts a tmpfs: the tree may
# be there.
dyndir=$(mktemp -d /var/tmp/vmmem-check-packages.XXXXXX)
dyn=$dyndir/vmmem-consumer
# shellcheck disable=SC2086 # pkg-config's words
if [ "$pcv" = "$version" ] &&
	gcc -O2 -Wall -Wextra -Werror $cflags -o "$dyn" pkg/consumer.c $libs 2>"$out/cc.log" &&
	lib=$(ldd "$dyn" | awk '$1 == "libvmmem.so.1" { print $3 }') &&
	[ "$(realpath "$lib")" = "$(realpath "/usr/lib/$multiarch/libvmmem.so.1")" ] &&
	gcc -O2 -Wall -Wextra -Werror -static $cflags -o "$out/vmmem-consumer-static" \
		pkg/consumer.c $slibs 2>>"$out/cc.log"; then
	ok "pkg-config vmmem $pcv: a program built against the installed library, shared and static"
else
	cat "$out/cc.log" >&2
	bad "pkg-config build against the installed library (version '$pcv', cflags '$cflags', libs '$libs', shared library '${lib:-}')"
	dyn=
fi
# The shared one on the host: the library loads; no /dev/vmmem here.
if [ -n "$dyn" ]; then
	"$dyn" >"$out/host-run.log" 2>&1
	grep -q 'vmmem_open: No such file or directory' "$out/host-run.log" || [ -c /dev/vmmem ] ||
		{ cat "$out/host-run.log" >&2; bad "the shared program did not run on the host"; }
fi
stamp "dkms and pkg-config checks"

# 4. The test VM with the DKMS-built module and the installed programs.
vm_kvers=${PKG_VM_KVERS-$kvers}
for rel in $vm_kvers; do
	f=${ko[$rel]:-}
	if [ -z "$f" ]; then
		bad "VM $rel: no DKMS-built module to boot with"
		continue
	fi
	k=$out/vmmem-$rel.ko
	case $f in
	*.xz) xz -dc "$f" >"$k" ;; # busybox insmod reads no .ko.xz
	*) cp "$f" "$k" ;;
	esac
	# The installed programs go to their own paths in the VM, with the
	# libraries ldd finds for them here: the installed libvmmem.so.1.
	cmd="v=\$(cat /sys/module/vmmem/version); echo \"module version \$v\"; [ \"\$v\" = $version ] &&
/usr/bin/vmmem-demo && /bin/vmmem-consumer-static${dyn:+ && $dyn}"
	bins=()
	[ ! -x "$out/vmmem-consumer-static" ] || bins+=(-b "$out/vmmem-consumer-static")
	# A kernel that dies booting, before init loads vmmem.ko (under TCG on
	# a loaded host: an int3 oops in live text patching, seen once), is
	# not a result of the packages: boot once more, and say so.
	for try in 1 2; do
		VM_OUT=$out/vm-$rel VM_MODULES='' VM_DYNBINS="/usr/bin/vmmem-demo $dyn" \
			vm/run.sh -k "$rel" -m "$k" ${bins[@]+"${bins[@]}"} -c "$cmd" >"$out/vm-$rel.log" 2>&1
		vrc=$?
		[ "$vrc" != 0 ] && [ "$try" = 1 ] &&
			! grep -q '^VMMEM-INSMOD ' "$out/vm-$rel/console.log" || break
		cp "$out/vm-$rel/console.log" "$out/vm-$rel/console.try1.log"
		echo "  RETRY   VM $rel: the kernel died before loading vmmem.ko ($(grep -m1 -E 'Oops|BUG:|panic' \
			"$out/vm-$rel/console.log" | tr -d '\r' | sed 's/^\[[ 0-9.]*\] //'); $out/vm-$rel/console.try1.log)"
	done
	if [ "$vrc" = 0 ] &&
		grep -q '^vmmem-demo: OK' "$out/vm-$rel.log" &&
		[ "$(grep -c '^vmmem-consumer: OK' "$out/vm-$rel.log")" = "$([ -n "$dyn" ] && echo 2 || echo 1)" ]; then
		ok "VM $rel: DKMS-built vmmem.ko loaded ($version), /usr/bin/vmmem-demo and the pkg-config programs passed"
	else
		cat "$out/vm-$rel.log" >&2
		bad "VM $rel with the DKMS-built module (log: $out/vm-$rel/console.log)"
	fi
	stamp "VM $rel"
done
[ -n "$vm_kvers" ] || skipped "VM boot (PKG_VM_KVERS is empty)"

# 5. Purge; nothing left.
if cleanup; then
	ok "packages purged"
else
	bad "packages purged (log: $out/purge.log)"
fi
left=$(leftovers)
while read -r f; do
	[ -z "$f" ] || [ -d "$f" ] || [ ! -e "$f" ] || left+=$'\n'"file $f"
done <"$out/files.txt"
# Directories of the packages' own, not shared with others.
for d in /usr/share/doc/{vmmem-dkms,libvmmem1,libvmmem-dev,vmmem-utils}; do
	[ ! -e "$d" ] || left+=$'\n'"dir $d"
done
if [ -z "${left//$'\n'/}" ]; then
	ok "nothing left after the purge (dpkg, dkms status, /usr/src, /var/lib/dkms, modules, $(wc -l <"$out/files.txt") paths)"
else
	echo "$left" >&2
	bad "left after the purge"
fi
stamp purge

# 6. From the tree: make dkms-install for one kernel, dkms-uninstall.
rel=$(tr ' ' '\n' <<<"$kvers" | grep '^6\.12\.' | tail -n 1)
if [ -z "$rel" ]; then
	skipped "make dkms-install (no 6.12 kernel)"
elif tree_dkms=1 &&
	$SUDO make --no-print-directory dkms-install DKMS_KVERS="$rel" >"$out/dkms-install.log" 2>&1 &&
	[[ $(dkms status -m vmmem -v "$version" -k "$rel" 2>/dev/null) == *": installed"* ]] &&
	[ "$(modinfo -k "$rel" -F version vmmem 2>/dev/null)" = "$version" ]; then
	ok "make dkms-install: vmmem $version installed for $rel from the tree"
else
	cat "$out/dkms-install.log" >&2
	bad "make dkms-install for $rel (log: $out/dkms-install.log)"
fi
if [ -n "$rel" ]; then
	tree_dkms=0
	$SUDO make --no-print-directory dkms-uninstall >"$out/dkms-uninstall.log" 2>&1
	left=$(leftovers)
	if [ -z "$left" ]; then
		ok "make dkms-uninstall: nothing left"
	else
		echo "$left" >&2
		bad "left after make dkms-uninstall"
	fi
fi
final_cleanup
stamp total
finish
