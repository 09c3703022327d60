// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty log (VMMEM_DIRTY_*, uapi): a bit per page of each logged
 * region, and a summary bit per word of those, so that a harvest looks
 * only at words that changed.
 *
 * A writer sets the page's bit after its write (with a full barrier in
 * between), then the summary bit; a harvest clears the summary bit, then
 * the bits, atomically: a write that races it is reported now or next
 * time, never lost.
 *
 * Writes through mappings come in through page_mkwrite() (mmap.c), which
 * marks the page with the page locked, before the mm makes its pte
 * writable and unlocks it. A harvest write-protects what it reports, and
 * cleans the ptes' dirty bits (or mprotect() could make a dirty pte
 * writable without a fault), with those pages locked too: a writer that
 * faulted before has its pte writable by then and loses it again; one
 * that faults meanwhile waits for the harvest, then marks the next round.
 * Write-protecting fires the MMU notifiers: KVM drops its mappings and
 * faults in again, through page_mkwrite().
 *
 * A page can also be written with no fault at all, through a reference
 * taken while its pte was writable: a pin (O_DIRECT on 6.12,
 * process_vm_writev()), a plain get_user_pages() reference (6.1's
 * O_DIRECT), a kernel mapping (KVM's kvm_vcpu_map()). So once a page's
 * ptes are write-protected, START and every harvest that reports it count
 * its references: one that neither vmmem nor a page table holds keeps
 * the page dirty, round after round, until it is dropped (the write
 * through it has landed by then: the round after reports it once more).
 * Taken after the write-protect, a new one must fault (GUP raises the
 * count before it checks the pte again), so nothing is missed between.
 * Writers that keep no reference (KVM's mappings and gfn-to-pfn caches)
 * lose their mapping to the MMU notifier that the write-protect fires.
 */
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

#define BPL	BITS_PER_LONG

/* Pages a harvest looks at per read-side section: 64 words of bits. */
#define VMMEM_DIRTY_WINDOW	(64 * BPL)

/* Ranges a harvest hands the user per copy. */
#define VMMEM_DIRTY_RANGE_CHUNK	32

struct vmmem_dirty *vmmem_dirty_alloc(unsigned long npages)
{
	unsigned long nwords = BITS_TO_LONGS(npages);
	unsigned long nsum = BITS_TO_LONGS(nwords);
	struct vmmem_dirty *d;

	d = kvzalloc(struct_size(d, bits, nwords + nsum),
		     GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (d)
		d->sum = d->bits + nwords;
	return d;
}

void vmmem_dirty_free(struct vmmem_dirty *d)
{
	kvfree(d);
}

/* Sets the bits of pages [first, first + n) of @d, then their summary. */
static void vmmem_dirty_set(struct vmmem_dirty *d, unsigned long first,
			    unsigned long n)
{
	unsigned long w, last = first + n - 1;

	/* The data before the bits: a harvest that clears them sees it. */
	smp_mb();
	for (w = first / BPL; w <= last / BPL; w++) {
		unsigned long lo = w == first / BPL ? first % BPL : 0;
		unsigned long hi = w == last / BPL ? last % BPL : BPL - 1;
		unsigned long mask = GENMASK(hi, lo);

		/* Already set: spare the cache line another CPU may own. */
		if ((READ_ONCE(d->bits[w]) & mask) != mask)
			atomic_long_or(mask, (atomic_long_t *)&d->bits[w]);
		/* The bits before the summary: a harvest goes the other way. */
		smp_mb__after_atomic();
		if (!test_bit(w % BPL, &d->sum[w / BPL]))
			set_bit(w % BPL, &d->sum[w / BPL]);
	}
}

/* @len bytes at @off of @r were written. Caller is inside a read section. */
void vmmem_dirty_mark(struct vmmem_region *r, u64 off, u64 len)
{
	/* Pairs with the release in vmmem_dirty_start(): a zeroed log. */
	struct vmmem_dirty *d = smp_load_acquire(&r->dirty);

	if (likely(!d) || !len)
		return;
	vmmem_dirty_set(d, off >> PAGE_SHIFT,
			((off + len - 1) >> PAGE_SHIFT) - (off >> PAGE_SHIFT) + 1);
}

/*
 * The same, by guest address, across regions: holes are skipped. Returns
 * the number of regions the range overlaps.
 */
u32 vmmem_dirty_mark_gpa(struct vmmem_space *s, u64 gpa, u64 len)
{
	u64 end = gpa + len, pos = gpa;
	u32 n = 0;
	int idx;

	if (!len)
		return 0;
	idx = vmmem_read_lock();
	while (pos < end) {
		unsigned long index = pos;
		struct vmmem_region *r = mt_find(&s->by_gpa, &index, end - 1);
		u64 from, to;

		if (!r)
			break;
		from = max(pos, r->gpa);
		to = min(end - 1, vmmem_region_last(r));
		vmmem_dirty_mark(r, from - r->gpa, to - from + 1);
		n++;
		if (to == U64_MAX)
			break;
		pos = to + 1;
	}
	vmmem_read_unlock(idx);
	return n;
}

/* --- write-protecting what a harvest reports -------------------------- */

/*
 * Whether @folio holds references other than its region's (one per page),
 * the page tables' (one per entry) and @own of the caller's: a pin or a
 * reference through which it may be written without a fault. Counting
 * mappings rather than asking folio_maybe_dma_pinned() keeps a page with
 * a thousand mappings from looking pinned. A 2 MiB folio has one count
 * for all its pages: a reference to any of them counts for all. Caller
 * holds the folio lock, and a mapping of the folio is made only under it
 * (mmap.c); one is undone before its reference goes (after the TLB
 * flush): so the refcount read first and the mapcount after can count one
 * reference too many, never one too few. Caller has write-protected the
 * folio's ptes, then issued a full barrier: the write-protect before the
 * count, as GUP orders its reference before its recheck of the pte.
 */
static bool vmmem_folio_referenced(struct folio *folio, long own)
{
	long ref;

	ref = folio_ref_count(folio);
	/* The refcount before the mapcount: see above. */
	smp_rmb();
	return ref - vmmem_folio_mapcount(folio) - folio_nr_pages(folio) -
	       own > 0;
}

/* The folios of @pages[0, n) in order, each folio's pages adjacent. */
static unsigned long vmmem_same_folio(struct page **pages, unsigned long n)
{
	struct folio *folio = page_folio(pages[0]);
	unsigned long k;

	for (k = 1; k < n && page_folio(pages[k]) == folio; k++)
		;
	return k;
}

/*
 * The pages of one window to write-protect again: per region, in pgoff
 * order; @brk marks the first of each region's (a walk must not cross
 * into another region's offsets: the kernel's walk of a mapping stops at
 * the first vma it skips, such as a read-only region's).
 */
struct vmmem_wp {
	unsigned int n;
	struct page *pages[VMMEM_DIRTY_WINDOW];
	pgoff_t pgoffs[VMMEM_DIRTY_WINDOW];
	unsigned long brk[BITS_TO_LONGS(VMMEM_DIRTY_WINDOW)];
	unsigned long scratch[BITS_TO_LONGS(VMMEM_DIRTY_WINDOW)];
};

struct vmmem_wp *vmmem_dirty_wp_alloc(void)
{
	return kvzalloc(sizeof(struct vmmem_wp), GFP_KERNEL_ACCOUNT);
}

/* Marks the pages at @bits (bit i: page offset @first + i) dirty. */
static void vmmem_dirty_mark_pgoffs(struct vmmem_space *s, pgoff_t first,
				    unsigned long *bits, unsigned long nr)
{
	unsigned long b;
	int idx = vmmem_read_lock();

	for_each_set_bit(b, bits, nr) {
		struct vmmem_region *r = mtree_load(&s->by_pgoff, first + b);

		if (r)
			vmmem_dirty_mark(r, (first + b - vmmem_region_pgoff(r)) <<
					 PAGE_SHIFT, PAGE_SIZE);
	}
	vmmem_read_unlock(idx);
}

/*
 * Offsets a re-protection walks at a time, its pages locked: a page
 * table's worth. A walk visits every mapping of the file and has no
 * rescheduling point of its own; a writer that faults on one of the pages
 * waits for the three walks of a chunk (with preempt=none, a window of
 * 4096 pages under 256 mappings ran 135 ms without a reschedule).
 */
#define VMMEM_WP_CHUNK	PTRS_PER_PTE

/*
 * Write-protects and cleans [first, first + nr) of one region in every
 * mapping, the pages locked, @nr at most VMMEM_WP_CHUNK. A pte that is
 * read-only but dirty can be made writable without a fault (mprotect(),
 * can_change_pte_writable()): so clean first, then write-protect, then
 * clean again; a pte found dirty by that last walk was made writable in
 * between, and its page is marked dirty again (reported next time, and
 * protected then).
 */
static void vmmem_dirty_protect_range(struct vmmem_space *s, pgoff_t first,
				      pgoff_t nr, unsigned long *scratch)
{
	struct address_space *mapping = s->inode->i_mapping;
	pgoff_t start = nr, end = 0;

	bitmap_zero(scratch, nr);
	clean_record_shared_mapping_range(mapping, first, nr, first, scratch,
					  &start, &end);
	cond_resched();
	wp_shared_mapping_range(mapping, first, nr);
	cond_resched();
	bitmap_zero(scratch, nr);
	start = nr;
	end = 0;
	if (clean_record_shared_mapping_range(mapping, first, nr, first,
					      scratch, &start, &end))
		vmmem_dirty_mark_pgoffs(s, first, scratch, nr);
	cond_resched();
}

/*
 * The same for [first, first + nr) of one chunk, whose first page is
 * @page. A 2 MiB page's mappings are taken away instead: the walks skip a
 * 2 MiB entry (and warn if it is writable), and one may have been made
 * while the region was not logged (before START, or between a STOP and
 * this harvest). Its pages fault back in a pte at a time (mmap.c).
 */
static void vmmem_dirty_protect_chunk(struct vmmem_space *s,
				      struct page *page, pgoff_t first,
				      pgoff_t nr, unsigned long *scratch)
{
	/* A 2 MiB page is a chunk: the runs below never span two. */
	BUILD_BUG_ON(VMMEM_WP_CHUNK != VMMEM_HUGE_PAGES);
	if (PageCompound(page))
		unmap_mapping_pages(s->inode->i_mapping, first, nr, false);
	else
		vmmem_dirty_protect_range(s, first, nr, scratch);
}

/*
 * Outside a read section: the pages are ours by their references (one
 * each, counted as @own). The reported pages of one region within one
 * chunk of offsets at a time, locked: one walk from the first to the last
 * of them, not one per run (each fires the MMU notifiers), and a writer
 * waits at most for one chunk; the pages in between that were not
 * reported are write-protected already, or their writer marked them after
 * this harvest took their bits. Nothing mapped: every mapping made from
 * now on starts write-protected, but a reference taken through an earlier
 * one may outlive it, so the references are counted anyway. A fatal
 * signal: the rest stay dirty.
 */
static void vmmem_dirty_protect(struct vmmem_space *s, struct vmmem_wp *wp)
{
	bool mapped = mapping_mapped(s->inode->i_mapping);
	unsigned int i, j, k, l, run;
	pgoff_t first, nr;
	bool killed, kept;

	for (i = 0; i < wp->n; i += run) {
		first = wp->pgoffs[i];
		for (run = 1; i + run < wp->n && !test_bit(i + run, wp->brk) &&
		     wp->pgoffs[i + run] / VMMEM_WP_CHUNK ==
		     first / VMMEM_WP_CHUNK; run++)
			;
		nr = wp->pgoffs[i + run - 1] - first + 1;
		killed = mapped && fatal_signal_pending(current);
		if (!killed) {
			for (j = i; j < i + run; j += k) {
				k = vmmem_same_folio(wp->pages + j, i + run - j);
				lock_page(wp->pages[j]);
			}
			if (mapped)
				vmmem_dirty_protect_chunk(s, wp->pages[i], first,
							  nr, wp->scratch);
		}
		/* What stays dirty: all of it if killed, else what is held. */
		kept = false;
		bitmap_zero(wp->scratch, nr);
		/* The write-protect before the count (vmmem_folio_referenced()). */
		smp_mb();
		for (j = i; j < i + run; j += k) {
			/* Our references: one per page of the folio reported. */
			k = vmmem_same_folio(wp->pages + j, i + run - j);
			if (!killed &&
			    !vmmem_folio_referenced(page_folio(wp->pages[j]), k))
				continue;
			for (l = j; l < j + k; l++)
				__set_bit(wp->pgoffs[l] - first, wp->scratch);
			kept = true;
		}
		if (kept)
			vmmem_dirty_mark_pgoffs(s, first, wp->scratch, nr);
		for (j = i; j < i + run; j += k) {
			k = vmmem_same_folio(wp->pages + j, i + run - j);
			if (!killed)
				unlock_page(wp->pages[j]);
			for (l = j; l < j + k; l++)
				put_page(wp->pages[l]);
		}
	}
	wp->n = 0;
	bitmap_zero(wp->brk, VMMEM_DIRTY_WINDOW);
}

/*
 * Every page of @r becomes write-protected and clean in the mappings, so
 * that its next write faults (the start of logging; @r's log @d is
 * published already), and a page held by a reference that may write it
 * without a fault starts dirty. Under the page locks, a chunk at a time:
 * a write fault in flight that did not see the log yet makes its pte
 * writable before we get the lock, and loses it again. A harvest may lock
 * pages of @r at the same time: both lock a region's pages in ascending
 * order, and a harvest never waits for s->lock (it faults on user memory
 * with its pages unlocked, but under harvest_lock: so not that lock here,
 * or mmap(), which takes s->lock under mmap_lock, would close a cycle).
 * A file never mapped (s->harvest_wp, under s->lock) has no such
 * reference: only vmmem's own, whose writes mark the log themselves.
 */
static int vmmem_dirty_protect_region(struct vmmem_space *s,
				      const struct vmmem_region *r,
				      struct vmmem_dirty *d)
{
	unsigned long scratch[BITS_TO_LONGS(VMMEM_WP_CHUNK)];
	bool mapped = mapping_mapped(s->inode->i_mapping);
	unsigned long done, n, i, k;

	if (vmmem_region_user(r) || vmmem_region_ro(r) || !s->harvest_wp)
		return 0;
	for (done = 0; done < r->npages; done += n) {
		pgoff_t pgoff = vmmem_region_pgoff(r) + done;

		if (fatal_signal_pending(current))
			return -EINTR;
		n = min(r->npages - done, (unsigned long)VMMEM_WP_CHUNK);
		for (i = done; i < done + n; i += k) {
			k = vmmem_same_folio(r->pages + i, done + n - i);
			lock_page(r->pages[i]);
		}
		if (mapped)
			vmmem_dirty_protect_chunk(s, r->pages[done], pgoff, n,
						  scratch);
		/* The write-protect before the count (vmmem_folio_referenced()). */
		smp_mb();
		for (i = done; i < done + n; i += k) {
			k = vmmem_same_folio(r->pages + i, done + n - i);
			if (vmmem_folio_referenced(page_folio(r->pages[i]), 0))
				vmmem_dirty_set(d, i, k);
			unlock_page(r->pages[i]);
		}
		cond_resched();
	}
	return 0;
}

/* --- the harvest ------------------------------------------------------- */

struct vmmem_harvest {
	struct vmmem_space *s;
	struct vmmem_dirty_harvest a;
	bool peek, ranges, protect;
	u64 pages;			/* reported */
	/* the window: harvest-relative pages [base, base + WINDOW) */
	u64 base;
	unsigned long bmp[VMMEM_DIRTY_WINDOW / BPL];
	/* ranges mode */
	struct vmmem_dirty_range out[VMMEM_DIRTY_RANGE_CHUNK];
	unsigned int nout;		/* in out[], not yet copied */
	u32 written;			/* copied to the user */
	struct vmmem_dirty_range cur;	/* the open range, len 0: none */
	struct vmmem_wp *wp;
};

/* Clears and returns the bits of word @w within @mask (a harvest). */
static unsigned long vmmem_dirty_take(struct vmmem_dirty *d, unsigned long w,
				      unsigned long mask)
{
	atomic_long_t *sum = (atomic_long_t *)&d->sum[w / BPL];
	unsigned long sbit = BIT(w % BPL), bits;

	atomic_long_andnot(sbit, sum);
	/* The summary first, then the word: writers go the other way. */
	smp_mb__after_atomic();
	bits = atomic_long_fetch_andnot(mask, (atomic_long_t *)&d->bits[w]);
	/* Bits outside the range stay dirty, and so must their summary. */
	if (bits & ~mask)
		atomic_long_or(sbit, sum);
	return bits & mask;
}

/*
 * Page @page of @r was reported: it must be write-protected again, and
 * its references counted after that (vmmem_dirty_protect()).
 */
static void vmmem_harvest_protect(struct vmmem_harvest *h,
				  struct vmmem_region *r, unsigned long page,
				  bool brk)
{
	struct vmmem_wp *wp = h->wp;
	struct page *pg = r->pages[page];

	if (brk)
		__set_bit(wp->n, wp->brk);
	get_page(pg);
	wp->pages[wp->n] = pg;
	wp->pgoffs[wp->n++] = vmmem_region_pgoff(r) + page;
}

/* ORs @bits into the window, bit 0 at window-relative @i (maybe < 0). */
static void vmmem_harvest_bits(struct vmmem_harvest *h, unsigned long bits,
			       s64 i)
{
	unsigned int off;

	if (i < 0) {
		bits >>= -i;
		i = 0;
	}
	off = i % BPL;
	h->bmp[i / BPL] |= bits << off;
	if (off && i / BPL + 1 < ARRAY_SIZE(h->bmp))
		h->bmp[i / BPL + 1] |= bits >> (BPL - off);
	h->pages += hweight_long(bits);
}

/*
 * Takes the dirty bits of @r's pages [p0, p1) into the window (page p0 is
 * window-relative @i0), clearing them unless peeking. Only the words whose
 * summary bit is set are looked at. Caller is inside a read section.
 */
static void vmmem_harvest_region(struct vmmem_harvest *h,
				 struct vmmem_region *r, unsigned long p0,
				 unsigned long p1, u64 i0)
{
	/* Pairs with the release in vmmem_dirty_start(). */
	struct vmmem_dirty *d = smp_load_acquire(&r->dirty);
	unsigned long w0 = p0 / BPL, w1 = (p1 - 1) / BPL, sw;
	bool brk = true;		/* the first page of @r this window */

	if (!d)
		return;
	for (sw = w0 / BPL; sw <= w1 / BPL; sw++) {
		unsigned long lo = sw == w0 / BPL ? w0 % BPL : 0;
		unsigned long hi = sw == w1 / BPL ? w1 % BPL : BPL - 1;
		unsigned long words = READ_ONCE(d->sum[sw]) & GENMASK(hi, lo);
		unsigned long wb;

		for_each_set_bit(wb, &words, BPL) {
			unsigned long w = sw * BPL + wb, bits, b;
			unsigned long first = max(w * BPL, p0);
			unsigned long last = min(w * BPL + BPL - 1, p1 - 1);
			unsigned long mask = GENMASK(last % BPL, first % BPL);

			bits = h->peek ? READ_ONCE(d->bits[w]) & mask :
					 vmmem_dirty_take(d, w, mask);
			if (!bits)
				continue;
			vmmem_harvest_bits(h, bits, (s64)(i0 + w * BPL) - p0);
			if (!h->protect)
				continue;
			/*
			 * Only if the file was ever mapped: a mapping made
			 * before a write we just took is seen here (the
			 * take is a full barrier), one made after starts
			 * write-protected.
			 */
			h->wp = smp_load_acquire(&h->s->harvest_wp);
			if (!h->wp)
				continue;
			for_each_set_bit(b, &bits, BPL) {
				vmmem_harvest_protect(h, r, w * BPL + b, brk);
				brk = false;
			}
		}
	}
}

/* The window's bits, from every logged region it overlaps. */
static void vmmem_harvest_window(struct vmmem_harvest *h, u64 npages)
{
	u64 gpa = h->a.guest_addr + (h->base << PAGE_SHIFT);
	u64 end = gpa + (npages << PAGE_SHIFT) - 1, pos = gpa;
	int idx;

	bitmap_zero(h->bmp, VMMEM_DIRTY_WINDOW);
	idx = vmmem_read_lock();
	while (pos <= end) {
		unsigned long index = pos;
		struct vmmem_region *r = mt_find(&h->s->by_gpa, &index, end);
		u64 from, to;

		if (!r)
			break;
		from = max(pos, r->gpa);
		to = min(end, vmmem_region_last(r));
		h->protect = !h->peek && !vmmem_region_user(r) &&
			     !vmmem_region_ro(r);
		vmmem_harvest_region(h, r, (from - r->gpa) >> PAGE_SHIFT,
				     ((to - r->gpa) >> PAGE_SHIFT) + 1,
				     ((from - h->a.guest_addr) >> PAGE_SHIFT) -
				     h->base);
		if (to == end)
			break;
		pos = to + 1;
	}
	vmmem_read_unlock(idx);
}

/*
 * The first harvest-relative page from @h->base on that is in a region,
 * or @npages: holes cost nothing, however large the range.
 */
static u64 vmmem_harvest_next(struct vmmem_harvest *h, u64 npages)
{
	u64 gpa = h->a.guest_addr + (h->base << PAGE_SHIFT);
	unsigned long index = gpa;
	struct vmmem_region *r;
	u64 next = npages;
	int idx;

	idx = vmmem_read_lock();
	r = mt_find(&h->s->by_gpa, &index,
		    h->a.guest_addr + (npages << PAGE_SHIFT) - 1);
	if (r)
		next = (max(gpa, r->gpa) - h->a.guest_addr) >> PAGE_SHIFT;
	vmmem_read_unlock(idx);
	return next;
}

/* Zeroes the bitmap's words for pages [from, to), both multiples of 64. */
static int vmmem_harvest_clear_bits(struct vmmem_harvest *h, u64 from, u64 to)
{
	u64 __user *ubmp = u64_to_user_ptr(h->a.buf);
	u64 n;

	for (; from < to; from += n) {
		n = min_t(u64, to - from, SZ_1M * BITS_PER_BYTE);
		if (clear_user(&ubmp[from / 64], n / BITS_PER_BYTE))
			return -EFAULT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/* Marks the window's pages from harvest-relative @from on dirty again. */
static void vmmem_harvest_undo(struct vmmem_harvest *h, u64 from)
{
	unsigned long b = from > h->base ? from - h->base : 0, e;

	while ((b = find_next_bit(h->bmp, VMMEM_DIRTY_WINDOW, b)) <
	       VMMEM_DIRTY_WINDOW) {
		e = find_next_zero_bit(h->bmp, VMMEM_DIRTY_WINDOW, b);
		vmmem_dirty_mark_gpa(h->s, h->a.guest_addr +
				     ((h->base + b) << PAGE_SHIFT),
				     (u64)(e - b) << PAGE_SHIFT);
		h->pages -= e - b;
		b = e;
	}
}

/* Marks the ranges not handed over (in out[], and the open one) again. */
static void vmmem_harvest_undo_ranges(struct vmmem_harvest *h)
{
	unsigned int i;

	/* What was handed over ends at the first range not copied. */
	if (h->nout)
		h->a.done = h->out[0].guest_addr - h->a.guest_addr;
	else if (h->cur.len)
		h->a.done = h->cur.guest_addr - h->a.guest_addr;

	for (i = 0; i < h->nout; i++) {
		vmmem_dirty_mark_gpa(h->s, h->out[i].guest_addr, h->out[i].len);
		h->pages -= h->out[i].len >> PAGE_SHIFT;
	}
	if (h->cur.len) {
		vmmem_dirty_mark_gpa(h->s, h->cur.guest_addr, h->cur.len);
		h->pages -= h->cur.len >> PAGE_SHIFT;
	}
	h->nout = 0;
	h->cur.len = 0;
}

static int vmmem_harvest_flush_ranges(struct vmmem_harvest *h)
{
	struct vmmem_dirty_range __user *u = u64_to_user_ptr(h->a.buf);

	if (copy_to_user(&u[h->written], h->out, h->nout * sizeof(*h->out)))
		return -EFAULT;
	h->written += h->nout;
	h->nout = 0;
	return 0;
}

/*
 * Appends the window's bits to the ranges, coalescing. Returns 0, or
 * -ENOSPC with a.done set where the user array filled up (the window's
 * pages from there on are marked dirty again), or -EFAULT.
 */
static int vmmem_harvest_ranges(struct vmmem_harvest *h)
{
	unsigned long b = 0, e;

	while ((b = find_next_bit(h->bmp, VMMEM_DIRTY_WINDOW, b)) <
	       VMMEM_DIRTY_WINDOW) {
		u64 gpa = h->a.guest_addr + ((h->base + b) << PAGE_SHIFT);

		e = find_next_zero_bit(h->bmp, VMMEM_DIRTY_WINDOW, b);
		if (h->cur.len && h->cur.guest_addr + h->cur.len == gpa) {
			h->cur.len += (u64)(e - b) << PAGE_SHIFT;
			b = e;
			continue;
		}
		/* A new range, after the open one: is there room for both? */
		if (h->written + h->nout + !!h->cur.len >= h->a.count) {
			h->a.done = gpa - h->a.guest_addr;
			vmmem_harvest_undo(h, h->base + b);
			return -ENOSPC;
		}
		if (h->cur.len) {
			h->out[h->nout++] = h->cur;
			h->cur.len = 0;
			if (h->nout == VMMEM_DIRTY_RANGE_CHUNK &&
			    vmmem_harvest_flush_ranges(h)) {
				/* out[] is undone by the caller; the rest here */
				vmmem_harvest_undo(h, h->base + b);
				return -EFAULT;
			}
		}
		h->cur.guest_addr = gpa;
		h->cur.len = (u64)(e - b) << PAGE_SHIFT;
		b = e;
	}
	return 0;
}

long vmmem_ioctl_dirty_harvest(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_dirty_harvest __user *uarg = argp;
	struct vmmem_harvest *h;
	u64 __user *ubmp;
	u64 npages, end;
	int ret;

	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(&h->a, argp, sizeof(h->a)))
		goto free;
	ret = -EINVAL;
	if ((h->a.flags & ~VMMEM_DIRTY_FLAGS) || h->a.reserved ||
	    !PAGE_ALIGNED(h->a.guest_addr) || !PAGE_ALIGNED(h->a.len) ||
	    check_add_overflow(h->a.guest_addr, h->a.len, &end))
		goto free;
	h->s = s;
	h->peek = h->a.flags & VMMEM_DIRTY_PEEK;
	h->ranges = h->a.flags & VMMEM_DIRTY_RANGES;
	h->a.done = h->a.len;
	ubmp = u64_to_user_ptr(h->a.buf);
	npages = h->a.len >> PAGE_SHIFT;

	/* One at a time: a harvest holds page locks in address order. */
	ret = mutex_lock_killable(&s->harvest_lock);
	if (ret)
		goto free;
	ret = 0;
	for (h->base = 0; h->base < npages; h->base += VMMEM_DIRTY_WINDOW) {
		u64 next = vmmem_harvest_next(h, npages), n;

		/* Past a hole: its bits (if any) are zeroes. */
		next = next == npages ? round_up(npages, 64) :
					round_down(next, VMMEM_DIRTY_WINDOW);
		if (next > h->base) {
			if (!h->ranges)
				ret = vmmem_harvest_clear_bits(h, h->base, next);
			if (ret) {
				h->a.done = h->base << PAGE_SHIFT;
				break;
			}
			h->base = next;
			if (h->base >= npages)
				break;
		}
		n = min_t(u64, npages - h->base, VMMEM_DIRTY_WINDOW);
		if (h->base && fatal_signal_pending(current)) {
			h->a.done = h->base << PAGE_SHIFT;
			ret = -EINTR;
			break;
		}
		vmmem_harvest_window(h, n);
		if (h->wp && h->wp->n)
			vmmem_dirty_protect(s, h->wp);
		if (h->ranges) {
			ret = vmmem_harvest_ranges(h);
		} else if (copy_to_user(&ubmp[h->base / 64], h->bmp,
					DIV_ROUND_UP(n, 64) * sizeof(u64))) {
			vmmem_harvest_undo(h, h->base);
			h->a.done = h->base << PAGE_SHIFT;
			ret = -EFAULT;
		}
		if (ret)
			break;
		cond_resched();
	}
	if (h->ranges && ret != -EFAULT) {
		/* The open range, if there is room for it, then the rest. */
		if (h->cur.len && h->written + h->nout >= h->a.count) {
			h->a.done = h->cur.guest_addr - h->a.guest_addr;
			vmmem_dirty_mark_gpa(s, h->cur.guest_addr, h->cur.len);
			h->pages -= h->cur.len >> PAGE_SHIFT;
		} else if (h->cur.len) {
			h->out[h->nout++] = h->cur;
		}
		h->cur.len = 0;
		if (vmmem_harvest_flush_ranges(h))
			ret = -EFAULT;
		else if (ret == -ENOSPC)
			ret = 0;
	}
	if (ret == -EFAULT)
		vmmem_harvest_undo_ranges(h);
	mutex_unlock(&s->harvest_lock);
	if (put_user(h->written, &uarg->count) ||
	    put_user(h->pages, &uarg->pages) ||
	    put_user(h->a.done, &uarg->done))
		ret = -EFAULT;
free:
	kfree(h);
	return ret;
}

/* --- starting, stopping, marking --------------------------------------- */

/* The next region overlapping [*pos, end], or NULL; caller holds s->lock. */
static struct vmmem_region *vmmem_next_region(struct vmmem_space *s, u64 *pos,
					      u64 end)
{
	unsigned long index = *pos;
	struct vmmem_region *r = mt_find(&s->by_gpa, &index, end);

	if (r)
		*pos = vmmem_region_last(r) == U64_MAX ? U64_MAX :
			vmmem_region_last(r) + 1;
	return r;
}

static int vmmem_dirty_start(struct vmmem_space *s, u64 gpa, u64 end,
			     u32 *regions)
{
	struct vmmem_dirty *d, *undo = NULL;
	struct vmmem_region *r;
	u64 pos = gpa;
	int ret;

	ret = mutex_lock_killable(&s->lock);
	if (ret)
		return ret;
	while (pos <= end && (r = vmmem_next_region(s, &pos, end))) {
		if (!r->dirty) {
			d = vmmem_dirty_alloc(r->npages);
			if (!d) {
				ret = -ENOMEM;
				break;
			}
			/* Published first: a write from now on is logged ... */
			smp_store_release(&r->dirty, d);
			/* ... and every mapped page faults at its next write. */
			ret = vmmem_dirty_protect_region(s, r, d);
			if (ret) {
				/* Killed half-way: not logged after all. */
				WRITE_ONCE(r->dirty, NULL);
				undo = d;
				break;
			}
		}
		(*regions)++;
		if (pos == U64_MAX)
			break;
	}
	mutex_unlock(&s->lock);
	if (undo) {
		synchronize_srcu(&vmmem_srcu);
		vmmem_dirty_free(undo);
	}
	return ret;
}

static int vmmem_dirty_stop(struct vmmem_space *s, u64 gpa, u64 end,
			    u32 *regions)
{
	struct vmmem_dirty *d, *list = NULL;
	struct vmmem_region *r;
	u64 pos = gpa;
	int ret;

	ret = mutex_lock_killable(&s->lock);
	if (ret)
		return ret;
	while (pos <= end && (r = vmmem_next_region(s, &pos, end))) {
		(*regions)++;
		d = r->dirty;
		WRITE_ONCE(r->dirty, NULL);
		if (d) {
			d->next = list;
			list = d;
		}
		if (pos == U64_MAX)
			break;
		cond_resched();
	}
	mutex_unlock(&s->lock);
	/* One grace period for all: then no reader has any of them. */
	if (list)
		synchronize_srcu(&vmmem_srcu);
	while ((d = list)) {
		list = d->next;
		vmmem_dirty_free(d);
		cond_resched();
	}
	return 0;
}

long vmmem_ioctl_dirty_track(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_dirty_track __user *uarg = argp;
	struct vmmem_dirty_track a;
	u64 end;
	int ret;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.reserved || !PAGE_ALIGNED(a.guest_addr) ||
	    !PAGE_ALIGNED(a.len) ||
	    check_add_overflow(a.guest_addr, a.len, &end))
		return -EINVAL;
	if (a.op < VMMEM_DIRTY_START || a.op > VMMEM_DIRTY_MARK)
		return -EINVAL;
	a.regions = 0;
	if (!a.len)
		return put_user(a.regions, &uarg->regions) ? -EFAULT : 0;
	/*
	 * The answer is faulted in first, as an add's is: a START or STOP
	 * that could not say what it did would have done it anyway.
	 */
	if (fault_in_safe_writeable((char __user *)&uarg->regions,
				    sizeof(uarg->regions)))
		return -EFAULT;
	end = a.guest_addr + a.len - 1;
	switch (a.op) {
	case VMMEM_DIRTY_START:
		ret = vmmem_dirty_start(s, a.guest_addr, end, &a.regions);
		break;
	case VMMEM_DIRTY_STOP:
		ret = vmmem_dirty_stop(s, a.guest_addr, end, &a.regions);
		break;
	case VMMEM_DIRTY_MARK:
		a.regions = vmmem_dirty_mark_gpa(s, a.guest_addr, a.len);
		ret = 0;
		break;
	default:
		return -EINVAL;
	}
	if (put_user(a.regions, &uarg->regions))
		return -EFAULT;
	return ret;
}

