#!/bin/sh
# Install the build/test dependencies (Debian bookworm) and extract the few
# kernel-source files we need (kselftest harness, checkpatch) into build/ksrc.
# Idempotent and cheap: apt is skipped when every package is installed, and
# the extraction is skipped when its stamp file exists.
#   vm/deps.sh [--ksrc]     --ksrc: only the extraction, no apt
set -eu
ksrc_only=
[ "${1:-}" = --ksrc ] && ksrc_only=1

cd "$(dirname "$0")/.."
KSRC=${KSRC:-build/ksrc}
SRC_TAR=${SRC_TAR:-/usr/src/linux-source-6.12.tar.xz}

PKGS="build-essential make gcc libc6-dev linux-image-amd64 linux-headers-amd64
linux-image-6.12-amd64 linux-headers-6.12-amd64 qemu-system-x86 busybox-static
cpio linux-source-6.12 xz-utils sparse kmod perl librust-vm-memory-dev"
# The vm-memory client test needs cargo: the machine's rustup one, else Debian's.
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
	PKGS="$PKGS cargo"
fi

MEMBERS="tools/testing/selftests/kselftest_harness.h
tools/testing/selftests/kselftest.h
scripts/checkpatch.pl
scripts/spelling.txt
scripts/const_structs.checkpatch"

missing=
[ -n "$ksrc_only" ] && PKGS=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ] && [ -z "$ksrc_only" ]; then
	echo "deps: installing:$missing"
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update
	# shellcheck disable=SC2086 # one word per package
	$SUDO apt-get install -y --no-install-recommends $PKGS
fi

if [ ! -f "$KSRC/.stamp" ] ||
	[ -n "$(find "$SRC_TAR" -newer "$KSRC/.stamp" 2>/dev/null)" ]; then
	echo "deps: extracting kselftest harness and checkpatch from $SRC_TAR"
	rm -rf "$KSRC.tmp"
	mkdir -p "$KSRC.tmp"
	pats=
	for m in $MEMBERS; do pats="$pats linux-source-6.12/$m"; done
	# shellcheck disable=SC2086 # word splitting of $pats is intended
	tar -xJf "$SRC_TAR" -C "$KSRC.tmp" --strip-components=1 --wildcards $pats
	rm -rf "$KSRC"
	mv "$KSRC.tmp" "$KSRC"
	touch "$KSRC/.stamp"
fi
