# Tables and chart data from the benchmark's CSV
# (sample,impl,path,workload,op,size,ops,ns_op,mb_s; a sample is one round
# of one boot, "BOOT.ROUND"); called by report.sh with md= (markdown,
# appended) and dat= (gnuplot data). POSIX awk (mawk).
#
# A ratio is taken within a sample, then the median over the samples is
# reported with the lowest and highest: figures of one sample were taken
# close together, so host noise between samples cancels out.

function col(impl, path) {
	if (impl == "memcpy") return path == "movsq" ? "movsq" : "floor"
	if (impl == "vm-memory") return "vm-memory"
	return path
}

function fmt(x) {
	if (x == "") return "-"
	if (x >= 100) return sprintf("%.0f", x)
	return sprintf("%.3g", x)
}

# Median of v[1..n], which it sorts.
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

# Median over the rounds of the ns of cell k.
function mns(k,    i, r, n, v) {
	n = 0
	for (i = 1; i <= nsamp; i++) {
		r = samp[i]
		if ((k, r) in ns) v[++n] = ns[k, r]
	}
	return median(v, n)
}

# Per-round ratio ns[k] / ns[ref]: sets RMED, RMIN, RMAX (all "" if none).
function rstat(k, ref,    i, r, n, v, x) {
	n = 0; RMIN = ""; RMAX = ""
	for (i = 1; i <= nsamp; i++) {
		r = samp[i]
		if (!((k, r) in ns) || !((ref, r) in ns) || ns[ref, r] == 0)
			continue
		x = ns[k, r] / ns[ref, r]
		v[++n] = x
		if (RMIN == "" || x < RMIN) RMIN = x
		if (RMAX == "" || x > RMAX) RMAX = x
	}
	RMED = median(v, n)
	return RMED
}

function ranged(k, ref) {
	if (rstat(k, ref) == "") return "-"
	if (RMIN == RMAX) return fmt(RMED)
	return fmt(RMED) " [" fmt(RMIN) "–" fmt(RMAX) "]"
}

# One target: cells tk[1..tn] against tref[], labels tl[]; wanted <= want.
function target(name, want, wanttxt,    i, met, near, worst, wl, miss, r) {
	met = 0; near = 0; worst = ""; miss = ""
	for (i = 1; i <= tn; i++) {
		r = rstat(tk[i], tref[i])
		if (r == "") continue
		if (r <= want * 1.05) near++
		if (r <= want) met++
		else miss = miss (miss == "" ? "" : ", ") tl[i] " " ranged(tk[i], tref[i])
		if (worst == "" || r > worst) { worst = r; wl = tl[i] " " ranged(tk[i], tref[i]) }
	}
	t0 = t0 "| " name " | " wanttxt " | " met " of " tn " | " near " | " wl " |\n"
	if (miss != "")
		tmiss = tmiss "- " name ", not met: " miss "\n"
	tn = 0
}

function add(k, ref, label) { tk[++tn] = k; tref[tn] = ref; tl[tn] = label }

NR > 1 && NF == 9 {
	k = $4 SUBSEP $5 SUBSEP $6 SUBSEP col($2, $3)
	ns[k, $1] = $8
	if (!($1 in seen)) { seen[$1] = 1; samp[++nsamp] = $1 }
}

END {
	nsz = split("8 64 512 4096 65536 1048576", sz, " ")
	nwl = split("cold hot boundary", wl, " ")
	ncnt = split("1 8 64 512 32767", cnt, " ")
	ncol = split("floor movsq vm-memory ioctl batch direct direct-kmem mmap", cols, " ")
	n = 0
	for (w = 1; w <= nwl; w++)
		for (o = 1; o <= 2; o++)
			for (s = 1; s <= nsz; s++)
				row[++n] = wl[w] SUBSEP (o == 1 ? "read" : "write") SUBSEP sz[s]
	row[++n] = "obj" SUBSEP "read" SUBSEP 8
	row[++n] = "obj" SUBSEP "write" SUBSEP 8
	for (c = 1; c <= ncnt; c++)
		row[++n] = "lookup-" cnt[c] SUBSEP "find" SUBSEP 8

	# The targets of the issue, each over all the cells it names.
	t0 = "## Against the targets (time ratios: median [lowest–highest] of the samples)\n\n"
	t0 = t0 "| target | wanted | cells met | within 5% | worst cell |\n|---|---|---:|---:|---|\n"
	tmiss = ""; tn = 0
	for (i = 1; i <= n; i++) {
		split(row[i], f, SUBSEP)
		if (f[1] ~ /^lookup/ || f[3] < 65536) continue
		add(row[i] SUBSEP "ioctl", row[i] SUBSEP "vm-memory", f[1] " " f[2] " " f[3])
	}
	target("bulk ioctl read/write, 64 KiB and 1 MiB", 1 / 0.95, "<= 1.053x vm-memory (>= 0.95x throughput)")
	for (i = 1; i <= n; i++) {
		split(row[i], f, SUBSEP)
		if (f[1] ~ /^lookup/ || f[3] > 64) continue
		add(row[i] SUBSEP "batch", row[i] SUBSEP "vm-memory", f[1] " " f[2] " " f[3])
	}
	target("64-op VMMEM_IO_BATCH, 8 and 64 bytes", 2, "<= 2x vm-memory per op")
	for (i = 1; i <= n; i++) {
		split(row[i], f, SUBSEP)
		if (f[1] ~ /^lookup/) continue
		add(row[i] SUBSEP "direct", row[i] SUBSEP "vm-memory", f[1] " " f[2] " " f[3])
	}
	target("libvmmem direct path, every size (pinned anonymous memory, as vm-memory's)", 1, "<= 1x vm-memory")
	lk = "find" SUBSEP 8 SUBSEP "ioctl"
	add("lookup-32767" SUBSEP lk, "lookup-1" SUBSEP lk, "32767 / 1 regions")
	target("kernel lookup (FIND_REGION), 32767 regions", 2, "<= 2x its cost at 1 region")
	add("lookup-512" SUBSEP "find" SUBSEP 8 SUBSEP "direct", "lookup-512" SUBSEP "find" SUBSEP 8 SUBSEP "vm-memory", "512 regions")
	target("libvmmem lookup, 512 regions", 1, "<= 1x vm-memory find_region")
	su = "setup" SUBSEP "setup" SUBSEP 268435456 SUBSEP
	add(su "kernel", su "floor", "module-allocated")
	add(su "kernel-4k", su "floor", "module-allocated, 4 KiB pages")
	add(su "anon", su "floor", "anonymous memory, pinned")
	add(su "memfd", su "memfd-populate", "memfd, pinned, vs MAP_POPULATE of a memfd")
	target("region set-up, per GiB", 1.2, "<= 1.2x mmap(MAP_POPULATE) of the same memory")

	hdr = "| workload | op | size |"; sep = "|---|---|---:|"
	t1 = "## ns per access (median of the samples)\n\n" hdr
	t2 = "## MB/s (from the median ns)\n\n" hdr
	t3 = "## Time / vm-memory (lower is faster): median [lowest–highest] of the samples\n\n" hdr
	t6 = "## Time / memcpy floor (median of the samples)\n\n" hdr
	for (c = 1; c <= ncol; c++) {
		t1 = t1 " " cols[c] " |"; t2 = t2 " " cols[c] " |"
		if (cols[c] != "vm-memory") t3 = t3 " " cols[c] " |"
		if (cols[c] != "floor") t6 = t6 " " cols[c] " |"
	}
	s = sep; for (c = 1; c <= ncol; c++) s = s "---:|"
	s1 = sep; for (c = 2; c <= ncol; c++) s1 = s1 "---:|"
	t1 = t1 "\n" s "\n"; t2 = t2 "\n" s "\n"; t3 = t3 "\n" s1 "\n"; t6 = t6 "\n" s1 "\n"
	for (i = 1; i <= n; i++) {
		split(row[i], f, SUBSEP)
		lead = "| " f[1] " | " f[2] " | " f[3] " |"
		t1 = t1 lead; t2 = t2 lead; t3 = t3 lead; t6 = t6 lead
		vmm = row[i] SUBSEP "vm-memory"; flo = row[i] SUBSEP "floor"
		for (c = 1; c <= ncol; c++) {
			k = row[i] SUBSEP cols[c]
			m = mns(k)
			t1 = t1 " " fmt(m) " |"
			# Bytes per second mean nothing for a lookup.
			t2 = t2 " " (f[2] == "find" || m == "" ? "-" : fmt(f[3] * 1e3 / m)) " |"
			if (cols[c] != "vm-memory")
				t3 = t3 " " ranged(k, vmm) " |"
			if (cols[c] != "floor")
				t6 = t6 " " fmt(rstat(k, flo)) " |"
		}
		t1 = t1 "\n"; t2 = t2 "\n"; t3 = t3 "\n"; t6 = t6 "\n"
	}

	# Set-up of 256 MiB, scaled to a GiB.
	t4 = "## Region set-up, scaled from 256 MiB to 1 GiB\n\n"
	t4 = t4 "| what | ms per GiB | GiB/s | x vm-memory | x mmap(MAP_POPULATE) |\n|---|---:|---:|---:|---:|\n"
	nsc = split("floor vm-memory kernel kernel-4k anon memfd memfd-populate memfd-prefaulted", sc, " ")
	split("mmap(MAP_POPULATE) anonymous|vm-memory MmapRegion + MAP_POPULATE|vmmem ADD_REGION, module-allocated (2 MiB pages)|vmmem ADD_REGION, module-allocated, huge_pages=0|vmmem ADD_REGION, anonymous memory pinned (faults pages in)|vmmem ADD_REGION, memfd pinned (faults pages in)|(for scale) mmap(MAP_POPULATE) of a memfd|vmmem ADD_REGION, memfd already populated", sn, "|")
	for (c = 1; c <= nsc; c++) {
		v = mns(su sc[c])
		if (v == "") continue
		t4 = t4 "| " sn[c] " | " fmt(v * 4 / 1e6) " | " fmt(1e9 / (v * 4)) " | " \
			ranged(su sc[c], su "vm-memory") " | " ranged(su sc[c], su "floor") " |\n"
	}
	# File I/O into guest memory: the fd ioctls vs read(2)/write(2)
	# on the mmapped guest memory.
	t5 = "## File I/O into guest memory (tmpfs file)\n\n"
	t5 = t5 "| op | size | VMMEM_*_FD MB/s | pread/pwrite on the mapping MB/s | time ratio |\n|---|---:|---:|---:|---:|\n"
	nfs = split("4096 65536 1048576", fs, " ")
	for (o = 1; o <= 2; o++)
		for (s = 1; s <= nfs; s++) {
			r = "fd" SUBSEP (o == 1 ? "read" : "write") SUBSEP fs[s]
			a = mns(r SUBSEP "fd-ioctl"); b = mns(r SUBSEP "fd-read2")
			if (a == "" || b == "") continue
			t5 = t5 "| " (o == 1 ? "file -> guest" : "guest -> file") " | " fs[s] " | " \
				fmt(fs[s] * 1e3 / a) " | " fmt(fs[s] * 1e3 / b) " | " \
				ranged(r SUBSEP "fd-ioctl", r SUBSEP "fd-read2") " |\n"
		}
	if (tmiss != "") t0 = t0 "\n" tmiss
	printf "%s\n%s\n%s\n%s\n%s\n%s\n%s", t0, t3, t6, t1, t2, t4, t5 >> md

	# Chart data: one block per (workload, op), median ratios to vm-memory.
	printf "" > dat
	npc = split("floor movsq ioctl batch direct direct-kmem mmap", pc, " ")
	for (w = 1; w <= nwl; w++)
		for (o = 1; o <= 2; o++) {
			op = o == 1 ? "read" : "write"
			printf "# %s %s: size floor movsq ioctl batch direct direct-kmem mmap\n", wl[w], op >> dat
			for (s = 1; s <= nsz; s++) {
				r = wl[w] SUBSEP op SUBSEP sz[s]
				line = sz[s]
				for (c = 1; c <= npc; c++) {
					x = rstat(r SUBSEP pc[c], r SUBSEP "vm-memory")
					line = line " " (x == "" ? "?" : x)
				}
				print line >> dat
			}
			printf "\n\n" >> dat
		}
}
