#!/bin/bash
# `make deb`: build the Debian packages (debian/) with dpkg-buildpackage from
# a clean copy of the tree, and run lintian on them.
#   pkg/build-debs.sh [OUTDIR]      default build/deb
# The copy is the tree's files as git sees them (tracked, and untracked but
# not ignored), or every file outside build/ without git, or the git tree
# DEB_TREE names (a commit, a tree id: DEB_TREE=HEAD); it goes to
# OUTDIR/vmmem-<version>, the packages next to it. Build dependencies
# (debian/control) and lintian are installed first if missing (root or
# sudo, Debian's apt). Prints the packages' paths, and lintian's tags to
# OUTDIR/lintian.txt; exits non-zero if the build fails.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-build/deb}
version=$(cat VERSION)
src=$out/vmmem-$version

# One version: VERSION. debian/changelog's newest entry must say the same
# (debian/rules checks it again in the build).
clv=$(sed -n '1s/^vmmem (\([^)]*\)).*/\1/p' debian/changelog)
if [ "$clv" != "$version" ]; then
	echo "deb: debian/changelog is at '$clv', VERSION at '$version': add a changelog entry (dch -v $version)" >&2
	exit 1
fi

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

rm -rf "$out"
mkdir -p "$src"
if [ -n "${DEB_TREE:-}" ]; then
	git archive --format=tar "$DEB_TREE" | tar -xf - -C "$src"
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		cpio -0 -pdm --quiet "$src"
else
	find . -path ./build -prune -o -type f -print0 | cpio -0 -pdm --quiet "$src"
fi

# The build dependencies, from debian/control (no deb-src needed), and
# lintian: only when something is missing, as vm/deps.sh does.
if ! (cd "$src" && dpkg-checkbuilddeps) >/dev/null 2>&1 ||
	! command -v lintian >/dev/null 2>&1; then
	echo "deb: installing the build dependencies and lintian"
	# Other sessions' apt may hold the lock for a while: wait for it.
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends dpkg-dev lintian
	$SUDO apt-get -o DPkg::Lock::Timeout=600 build-dep -y --no-install-recommends "./$src"
fi

echo "  DEB     vmmem $version (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
ls "$out"/*.deb

# Every tag down to pedantic, so that the note can explain each one;
# debian/*lintian-overrides explain the ones we keep. lintian warns when it
# runs as root: as root, it runs as nobody, on a copy nobody can read (the
# tree may be in a directory only root enters). Its exit status goes to
# OUTDIR/lintian.rc: 0 is no error or warning left (but for overrides).
changes=$(ls "$out"/vmmem_"$version"_*.changes)
as='' lint=$out
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	as="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	lint=$(mktemp -d /tmp/vmmem-lintian.XXXXXX)
	cp "$out"/*.changes "$out"/*.deb "$out"/*.dsc "$out"/*.tar.* "$out"/*.buildinfo "$lint/"
	chmod -R a+rX "$lint"
fi
# Two runs: the report shows the overridden tags too, and with them shown
# lintian exits 2; the verdict is the second's exit status.
set +e
HOME=/tmp $as lintian -I -E --pedantic --show-overrides --tag-display-limit 0 \
	"$lint/${changes##*/}" >"$out/lintian.txt" 2>&1
HOME=/tmp $as lintian -I -E --pedantic --fail-on error,warning \
	"$lint/${changes##*/}" >/dev/null 2>"$out/lintian.err"
echo $? >"$out/lintian.rc"
set -e
[ "$lint" = "$out" ] || rm -rf "$lint"
echo "  LINTIAN $(grep -c '^[EWIPXO]: ' "$out/lintian.txt" || true) tag(s), overridden ones included, \
exit status $(cat "$out/lintian.rc") ($out/lintian.txt)"
