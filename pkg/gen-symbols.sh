#!/bin/sh
# debian/libvmmem1.symbols from userlib/libvmmem.map: each symbol of the
# version node VMMEM_X.Y first appeared in libvmmem X.Y.0.
#   pkg/gen-symbols.sh           rewrite debian/libvmmem1.symbols
#   pkg/gen-symbols.sh --check   fail if it does not match the map, or if
#                                the map's newest node is newer than VERSION
# Run it after adding a symbol to the map; debian/rules runs --check, and
# dpkg-gensymbols -c4 then checks the file against the built library.
set -eu
cd "$(dirname "$0")/.."
map=${MAP:-userlib/libvmmem.map}
out=debian/libvmmem1.symbols

gen() {
	echo 'libvmmem.so.1 libvmmem1 #MINVER#'
	echo '* Build-Depends-Package: libvmmem-dev'
	# Comments out, one token a line: "NODE { global: a; local: *; } PARENT;"
	sed -e ':a' -e '/\/\*/{/\*\//!{N;ba};s|/\*.*\*/||}' "$map" |
		sed 's/[{};]/\n&\n/g' | tr -d ' \t' | grep -v '^;\?$' | awk '
	$0 == "{" { node = prev; v = substr(node, 7) ".0"; scope = ""
		print node "@" node, v; next }
	$0 == "}" { node = ""; next }
	node != "" && /:$/ { scope = $0; next }
	node != "" && scope == "global:" { print $0 "@" node, v }
	{ prev = $0 }
	' | sed 's/^/ /' | LC_ALL=C sort
}
if [ "${1:-}" = --check ]; then
	if ! gen | cmp -s - "$out"; then
		gen | diff -u "$out" - >&2 || true
		echo "$out does not match $map: run pkg/gen-symbols.sh" >&2
		exit 1
	fi
	# A node VMMEM_X.Y is a promise that libvmmem X.Y.0 has it: VERSION
	# must have got there.
	version=$(cat VERSION)
	newest=$(gen | sed -n 's/^ VMMEM_[0-9.]*@VMMEM_[0-9.]* //p' | sort -V | tail -n 1)
	if [ "$(printf '%s\n%s\n' "$newest" "$version" | sort -V | tail -n 1)" != "$version" ]; then
		echo "$map has symbols of libvmmem $newest, VERSION is $version: raise VERSION" >&2
		exit 1
	fi
else
	gen >"$out"
fi
