# The dirty-log table from dirty-bench's CSV
# (sample,impl,path,workload,op,size,ops,ns_op,mb_s; a sample is one round
# of one boot, "BOOT.ROUND"), as markdown on stdout: the issue's targets,
# then every cell. Called by run.sh with -v date=... -v info=...
# POSIX awk (mawk).
#
# A ratio is taken within a sample (the implementations were timed in turn
# in one process), then the median over the samples is reported with the
# lowest and highest in brackets.

BEGIN { FS = "," }

$1 ~ /^[0-9]+\.[0-9]+$/ && NF == 9 {
	k = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5 SUBSEP $6
	if (!((k, $1) in ns)) {
		ns[k, $1] = $8 + 0
		ops[k] = $7
	}
	if (!($1 in seen)) { seen[$1] = 1; samp[++nsamp] = $1 }
	if (!(k in kseen)) { kseen[k] = 1; keys[++nkeys] = k }
	if ($2 == "kvm" && $3 == "get_dirty_log") kvmsize = $6
}

function median(v, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = v[i]
		for (j = i - 1; j >= 1 && v[j] > t; j--)
			v[j + 1] = v[j]
		v[j + 1] = t
	}
	if (n == 0) return ""
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

function fmt(x) {
	if (x == "") return "-"
	if (x >= 100) return sprintf("%.0f", x)
	return sprintf("%.3g", x)
}

function key(impl, path, wl, op, size) {
	return impl SUBSEP path SUBSEP wl SUBSEP op SUBSEP size
}

# Per-sample a / b (scale: times mul): sets RMED, RMIN, RMAX, RN.
function rstat(a, b, mul,    i, r, n, v, x) {
	n = 0; RMIN = ""; RMAX = ""
	for (i = 1; i <= nsamp; i++) {
		r = samp[i]
		if (!((a, r) in ns) || !((b, r) in ns) || ns[b, r] == 0)
			continue
		x = ns[a, r] / ns[b, r] * mul
		v[++n] = x
		if (RMIN == "" || x < RMIN) RMIN = x
		if (RMAX == "" || x > RMAX) RMAX = x
	}
	RN = n
	RMED = median(v, n)
	return RMED
}

# Median [min–max] of cell k's ns (divided by div).
function cell(k, div,    i, r, n, v, lo, hi) {
	n = 0; lo = ""; hi = ""
	for (i = 1; i <= nsamp; i++) {
		r = samp[i]
		if (!((k, r) in ns)) continue
		v[++n] = ns[k, r] / div
		if (lo == "" || v[n] < lo) lo = v[n]
		if (hi == "" || v[n] > hi) hi = v[n]
	}
	if (!n) return "-"
	return fmt(median(v, n)) " [" fmt(lo) "–" fmt(hi) "]"
}

function rtxt() {
	if (RMED == "") return "-"
	return fmt(RMED) " [" fmt(RMIN) "–" fmt(RMAX) "]"
}

# A target row: ratio a/b (times mul) must be <= want (le) or >= want.
function target(name, figure, a, b, mul, want, le,    ok, all) {
	if (rstat(a, b, mul) == "") {
		tt = tt "| " name " | " figure " | - | no data |\n"
		return
	}
	ok = le ? RMED <= want : RMED >= want
	all = le ? RMAX <= want : RMIN >= want
	tt = tt "| " name " | " figure " | " rtxt() " | " \
		(ok ? (all ? "**met**" : "met (median; not every sample)") : \
		 (le ? (RMIN <= want ? "not met (some samples)" : "**not met**") : \
		  (RMAX >= want ? "not met (some samples)" : "**not met**"))) " |\n"
	ntarget++
	if (ok) nmet++
}

# An informational ratio row.
function info(name, a, b, mul) {
	rstat(a, b, mul)
	ti = ti "| " name " | " rtxt() " |\n"
}

END {
	G = 1073741824
	w8on = key("vmmem", "ioctl-on", "dirty-write", "w", 8)
	w8off = key("vmmem", "ioctl-off", "dirty-write", "w", 8)
	w4on = key("vmmem", "ioctl-on", "dirty-write", "w", 4096)
	w4off = key("vmmem", "ioctl-off", "dirty-write", "w", 4096)
	mfirst = key("vmmem", "mmap-first", "dirty-write", "w", 8)
	mwr = key("vmmem", "mmap-writable", "dirty-write", "w", 8)

	target("marking adds <= 10 % to an 8 B VMMEM_WRITE", \
	       "tracked / untracked × 100 (≤ 110)", w8on, w8off, 100, 110, 1)
	split("d0 d1 d100", sh, " ")
	shname["d0"] = "0 %"; shname["d1"] = "1 %"; shname["d100"] = "100 %"
	b0 = key("vmmem", "bitmap", "dirty-harvest", "d0", G)
	b100 = key("vmmem", "bitmap", "dirty-harvest", "d100", G)
	r0 = key("vmmem", "ranges", "dirty-harvest", "d0", G)
	r100 = key("vmmem", "ranges", "dirty-harvest", "d100", G)
	target("harvest at 0 % <= 1 % of harvest at 100 % (1 GiB, bitmap)", \
	       "0 % / 100 % × 100 (≤ 1)", b0, b100, 100, 1, 1)
	target("harvest at 0 % <= 1 % of harvest at 100 % (1 GiB, ranges)", \
	       "0 % / 100 % × 100 (≤ 1)", r0, r100, 100, 1, 1)
	kb0 = key("vmmem", "bitmap-kvm", "dirty-harvest", "d0", kvmsize)
	kb100 = key("vmmem", "bitmap-kvm", "dirty-harvest", "d100", kvmsize)
	target("harvest at 0 % <= 1 % of harvest at 100 % (" kvmsize / 1048576 " MiB mapped, KVM memslot, bitmap)", \
	       "0 % / 100 % × 100 (≤ 1)", kb0, kb100, 100, 1, 1)
	for (i = 1; i <= 3; i++) {
		s = sh[i]
		vmm = key("vm-memory", "get_and_reset", "dirty-harvest", s, G)
		target("harvest <= vm-memory get_and_reset, 1 GiB at " shname[s] " (bitmap)", \
		       "vmmem / vm-memory", key("vmmem", "bitmap", "dirty-harvest", s, G), vmm, 1, 1, 1)
		target("harvest <= vm-memory get_and_reset, 1 GiB at " shname[s] " (ranges)", \
		       "vmmem / vm-memory", key("vmmem", "ranges", "dirty-harvest", s, G), vmm, 1, 1, 1)
	}
	for (i = 1; i <= 3; i++) {
		s = sh[i]
		kv = key("kvm", "get_dirty_log", "dirty-harvest", s, kvmsize)
		target("harvest <= KVM_GET_DIRTY_LOG, " kvmsize / 1048576 " MiB at " shname[s] " (bitmap)", \
		       "vmmem / KVM", key("vmmem", "bitmap-kvm", "dirty-harvest", s, kvmsize), kv, 1, 1, 1)
		target("harvest <= KVM_GET_DIRTY_LOG, " kvmsize / 1048576 " MiB at " shname[s] " (ranges)", \
		       "vmmem / KVM", key("vmmem", "ranges-kvm", "dirty-harvest", s, kvmsize), kv, 1, 1, 1)
	}
	split("65536 1048576", csz, " ")
	for (i = 1; i <= 2; i++)
		target("COPY >= 1.5x faster than read_slice + write_slice, " \
		       (csz[i] == 65536 ? "64 KiB" : "1 MiB"), "bounce / COPY", \
		       key("vm-memory", "bounce", "dirty-copy", "w", csz[i]), \
		       key("vmmem", "copy", "dirty-copy", "w", csz[i]), 1, 1.5, 0)

	info("4 KiB VMMEM_WRITE, tracked / untracked", w4on, w4off, 1)
	info("8 B VMMEM_WRITE, tracked / untracked", w8on, w8off, 1)
	info("mapped store: first after a harvest / to a writable page", mfirst, mwr, 1)
	info("idle 4 MiB harvest: region mapped / not mapped", \
	     key("vmmem", "bitmap-mapped", "dirty-harvest", "d0", 4194304), \
	     key("vmmem", "bitmap", "dirty-harvest", "d0", 4194304), 1)
	info("idle harvest: 1 GiB / 4 MiB (not mapped)", b0, \
	     key("vmmem", "bitmap", "dirty-harvest", "d0", 4194304), 1)
	info("COPY 4 KiB: bounce / COPY (no target)", \
	     key("vm-memory", "bounce", "dirty-copy", "w", 4096), key("vmmem", "copy", "dirty-copy", "w", 4096), 1)
	info("vm-memory get_and_reset, 1 GiB: 0 % / 100 %, in %", \
	     key("vm-memory", "get_and_reset", "dirty-harvest", "d0", G), \
	     key("vm-memory", "get_and_reset", "dirty-harvest", "d100", G), 100)
	info("KVM_GET_DIRTY_LOG, " kvmsize / 1048576 " MiB: 0 % / 100 %, in %", \
	     key("kvm", "get_dirty_log", "dirty-harvest", "d0", kvmsize), \
	     key("kvm", "get_dirty_log", "dirty-harvest", "d100", kvmsize), 100)

	print "# vmmem dirty-log benchmark (issue 13, item 7)"
	print ""
	print "Generated by `make bench` (bench/run.sh, bench/dirty-bench.c) on " date ";"
	print nsamp " samples (one run of dirty-bench per round of each boot: " info_rounds ")."
	print "Figures: median over the samples [lowest–highest]; a ratio is taken"
	print "within one sample, where the implementations were timed in turn in"
	print "the same process. TCG figures (QEMU, -cpu max,-erms; KVM nested in"
	print "it): relative costs in this VM, not hardware predictions."
	print ""
	print "Method (bench/README.md): write and copy cells alternate the two paths"
	print "in chunks within a batch, a path's figure the median of its chunks;"
	print "harvests are single calls rotated among the paths, the pages dirtied"
	print "before each outside the timed part (VMMEM_DIRTY_MARK, Bitmap::mark_dirty,"
	print "or the KVM guest's stores), median of 11 (KVM at 100 %: 3), every"
	print "harvest's page count checked. 1 % is every 100th page. The 1 GiB vmmem"
	print "region is not mapped; the KVM cells' region is mapped (the memslot), so"
	print "vmmem's harvest there also write-protects what it reports. The KVM"
	print "memslot is " kvmsize / 1048576 " MiB, not 1 GiB: each first guest store to a page is a"
	print "nested fault under TCG (the guest-store cell, ns per page), so a 1 GiB"
	print "pass would take about 30 s; bitmap sizes, and idle harvests, scale"
	print "linearly with the size."
	print ""
	print "## Targets"
	print ""
	print "| target | figure | median [range] | |"
	print "|---|---|---:|---|"
	printf "%s", tt
	print ""
	print nmet " of " ntarget " targets met (on the median)."
	print ""
	print "## Other ratios"
	print ""
	print "| figure | median [range] |"
	print "|---|---:|"
	printf "%s", ti
	print ""
	print "## Cells"
	print ""
	print "Writes and copies: ns per operation (mapped stores and the KVM guest's"
	print "stores: ns per page); harvests: µs per harvest."
	print ""
	print "| impl | path | cell | op | size | ops | time |"
	print "|---|---|---|---|---:|---:|---:|"
	for (i = 1; i <= nkeys; i++) {
		k = keys[i]
		split(k, f, SUBSEP)
		hv = f[3] == "dirty-harvest"
		sz = f[5] >= G ? f[5] / G " GiB" : f[5] >= 1048576 ? f[5] / 1048576 " MiB" : \
		     f[5] >= 1024 ? f[5] / 1024 " KiB" : f[5] " B"
		print "| " f[1] " | " f[2] " | " f[3] " | " (hv ? shname[f[4]] : f[4]) " | " sz " | " \
		      ops[k] " | " cell(k, hv ? 1000 : 1) (hv ? " µs" : " ns") " |"
	}
}
