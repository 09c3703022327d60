#!/bin/sh
# Print the kernel releases to test: the newest installed 6.1.* and 6.12.*
# that have both headers (/lib/modules/<rel>/build) and /boot/vmlinuz-<rel>.
# Discovered, not hard-coded, so a new Debian point release just works.
set -eu
for series in 6.1 6.12; do
	for d in /lib/modules/"$series".*/build; do
		[ -d "$d" ] || continue
		rel=${d#/lib/modules/}; rel=${rel%/build}
		[ -f "/boot/vmlinuz-$rel" ] && echo "$rel"
	done | sort -V | tail -n 1
done | tr '\n' ' ' | sed 's/ $//'
echo
