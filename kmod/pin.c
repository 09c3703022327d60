// SPDX-License-Identifier: GPL-2.0
/*
 * The pages behind a region: allocated by the module, or the caller's own
 * pages pinned long-term (the way ACRN, Nitro Enclaves and VFIO pin a VMM's
 * memory) and charged to RLIMIT_MEMLOCK.
 *
 * Every loop here runs over up to all of RAM: each reschedules and stops
 * at a fatal signal between chunks of VMMEM_PIN_CHUNK pages.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hugetlb_inline.h>
#include <linux/magic.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "internal.h"

/* Pages per allocation, pin, release or vmap step; we reschedule between. */
#define VMMEM_PIN_CHUNK	512UL

/*
 * Fail rather than OOM-kill: module pages are in no process's RSS, so the
 * OOM killer would pick a bystander. A huge size must also fail quietly.
 */
#define VMMEM_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)
/* A 2 MiB folio if one round of compaction and reclaim finds one. */
#define VMMEM_GFP_HUGE	(GFP_KERNEL_ACCOUNT | __GFP_COMP | __GFP_NORETRY | \
			 __GFP_NOWARN)

static struct page **vmmem_page_array(unsigned long npages)
{
	return kvcalloc(npages, sizeof(struct page *), VMMEM_GFP);
}

/* Drops the references of a page array. */
static void vmmem_pages_put(struct page **pages, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		put_page(pages[i]);
		if (i % VMMEM_PIN_CHUNK == VMMEM_PIN_CHUNK - 1)
			cond_resched();
	}
}

void vmmem_pageset_put(struct vmmem_pageset *set)
{
	if (!refcount_dec_and_test(&set->ref))
		return;
	vmmem_pages_put(set->pages, set->npages);
	kvfree(set);
}

/*
 * A 2 MiB folio for the chunk at region page @i, or NULL: where the
 * allocator has none at hand after one round of compaction and reclaim
 * (no retries, no OOM), the chunk is made of order-0 pages, and so is the
 * rest of the region (*@fragmented): a fragmented host pays that round
 * once per add, not once per chunk. The region's page array holds a
 * reference per page, as for order-0 pages, so that nothing else needs to
 * know: the folio goes with its last.
 */
static struct page *vmmem_huge_alloc(struct vmmem_region *r, unsigned long i,
				     bool *fragmented)
{
	struct page *page;

	if (!VMMEM_HUGE_POSSIBLE || !READ_ONCE(vmmem_huge_pages) ||
	    *fragmented || i % VMMEM_HUGE_PAGES ||
	    r->npages - i < VMMEM_HUGE_PAGES)
		return NULL;
	page = alloc_pages(VMMEM_GFP_HUGE | __GFP_ZERO, VMMEM_HUGE_ORDER);
	if (!page) {
		*fragmented = true;
		return NULL;
	}
	/*
	 * 6.12's finish_fault() maps one PMD only if the folio ends below
	 * i_size, by its index: the allocator leaves a stale one.
	 */
	page_folio(page)->index = 0;
	folio_ref_add(page_folio(page), VMMEM_HUGE_PAGES - 1);
	if (vmmem_region_ro(r))
		vmmem_page_set_ro(page);
	return page;
}

int vmmem_pages_alloc(struct vmmem_region *r)
{
	struct vmmem_pageset *set;
	bool fragmented = false;
	struct page *page;
	unsigned long i, n;

	if (r->npages > totalram_pages())
		return -ENOMEM;
	set = kvzalloc(struct_size(set, pages, r->npages), VMMEM_GFP);
	if (!set)
		return -ENOMEM;
	refcount_set(&set->ref, 1);
	r->set = set;
	r->pages = set->pages;

	for (i = 0; i < r->npages; i += n) {
		if (fatal_signal_pending(current))
			goto fail;
		cond_resched();
		/* Zeroed: a guest must not see another tenant's data. */
		page = vmmem_huge_alloc(r, i, &fragmented);
		if (page) {
			r->huge_chunks++;
			for (n = 0; n < VMMEM_HUGE_PAGES; n++)
				r->pages[i + n] = nth_page(page, n);
			continue;
		}
		for (n = 0; n < min(r->npages - i, VMMEM_PIN_CHUNK); n++) {
			page = alloc_page(VMMEM_GFP | __GFP_ZERO);
			if (!page) {
				i += n;
				goto fail;
			}
			/* Mappings keep it read-only, after the region too. */
			if (vmmem_region_ro(r))
				vmmem_page_set_ro(page);
			r->pages[i + n] = page;
		}
	}
	set->npages = r->npages;
	return 0;

fail:
	/* Only the pages allocated so far. */
	set->npages = i;
	vmmem_pageset_put(set);
	r->set = NULL;
	r->pages = NULL;
	return fatal_signal_pending(current) ? -EINTR : -ENOMEM;
}

/*
 * Memory whose pages can be pinned for as long as a guest lives: private
 * mappings (a writable pin gives anonymous pages), shmem and memfd, and
 * hugetlbfs. A shared mapping of any other file is refused: its pages
 * belong to a filesystem that must see them written back, which a
 * long-term pin defeats (6.12's GUP refuses such pins, 6.1's does not).
 */
static bool vmmem_vma_pinnable(struct vm_area_struct *vma)
{
	struct inode *inode;

	if (is_vm_hugetlb_page(vma) || !(vma->vm_flags & VM_SHARED))
		return true;
	if (!vma->vm_file)
		return false;
	/* A regular file: device nodes live on devtmpfs, a tmpfs too. */
	inode = file_inode(vma->vm_file);
	return S_ISREG(inode->i_mode) && inode->i_sb->s_magic == TMPFS_MAGIC;
}

/*
 * Caller holds mmap_read_lock(mm). -EFAULT for a hole or memory not
 * mapped writable (a pin is for writing). *@uffd: some of it
 * is registered with userfaultfd, whose faults a pin under the lock
 * cannot wait for.
 */
static int vmmem_range_pinnable(struct mm_struct *mm, unsigned long start,
				unsigned long end, bool *uffd)
{
	*uffd = false;
	while (start < end) {
		struct vm_area_struct *vma = find_vma(mm, start);

		/* The first that cannot be pinned says why, in address order. */
		if (!vma || vma->vm_start > start)
			return -EFAULT;
		if (!vmmem_vma_pinnable(vma))
			return -EOPNOTSUPP;
		if (!(vma->vm_flags & VM_WRITE))
			return -EFAULT;
		*uffd |= userfaultfd_armed(vma);
		start = vma->vm_end;
	}
	return 0;
}

/* The whole range, before anything is allocated for it. */
static int vmmem_range_check(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	bool uffd;
	int ret;

	ret = mmap_read_lock_killable(mm);
	if (ret)
		return ret;
	ret = vmmem_range_pinnable(mm, start, end, &uffd);
	mmap_read_unlock(mm);
	return ret;
}

/*
 * Pins @n pages at @start into @pages, checking under the same mmap lock
 * that the mappings are of a kind that may be pinned. Pages a
 * userfaultfd has yet to provide are faulted in first, with no lock held
 * (waiting killably for the handler): a pin under the lock would fail on
 * them. Returns the pages pinned or a -errno.
 */
static long vmmem_pin_chunk(struct mm_struct *mm, unsigned long start,
			    unsigned long n, struct page **pages)
{
	bool uffd, faulted = false;
	long ret;

	for (;;) {
		ret = mmap_read_lock_killable(mm);
		if (ret)
			return ret;
		ret = vmmem_range_pinnable(mm, start, start + n * PAGE_SIZE,
					   &uffd);
		if (!ret && uffd && !faulted) {
			mmap_read_unlock(mm);
			fault_in_safe_writeable((char __user *)start,
						n * PAGE_SIZE);
			faulted = true;
			continue;
		}
		if (!ret)
			ret = vmmem_pin_user_pages(start, n,
						   FOLL_WRITE | FOLL_LONGTERM,
						   pages);
		mmap_read_unlock(mm);
		return ret;
	}
}

/* Pinned pages must be ordinary memory the module can kmap and copy. */
static bool vmmem_pages_valid(struct page **pages, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		if (is_zone_device_page(pages[i]))
			return false;
	return true;
}

/*
 * The RLIMIT_MEMLOCK charge goes to the user, as io_uring's does: a pin
 * outlives exec() and the pinning process (the open file holds it), and
 * so must its charge. Unless the caller has CAP_IPC_LOCK, the user's
 * pinned pages may not exceed the caller's limit. The pinning mm shows
 * them as VmPin.
 */
static int vmmem_charge(struct vmmem_region *r)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct user_struct *user = current_user();
	long cur;

	if (!capable(CAP_IPC_LOCK)) {
		cur = atomic_long_read(&user->locked_vm);
		do {
			if (r->npages > limit || cur > limit - r->npages)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur,
						  cur + r->npages));
		r->locked_user = get_uid(user);
	}
	r->pinned_mm = current->mm;
	mmgrab(r->pinned_mm);
	atomic64_add(r->npages, &r->pinned_mm->pinned_vm);
	return 0;
}

static void vmmem_uncharge(struct vmmem_region *r)
{
	if (r->locked_user) {
		atomic_long_sub(r->npages, &r->locked_user->locked_vm);
		free_uid(r->locked_user);
		r->locked_user = NULL;
	}
	atomic64_sub(r->npages, &r->pinned_mm->pinned_vm);
	mmdrop(r->pinned_mm);
	r->pinned_mm = NULL;
}

static void vmmem_unpin(struct vmmem_region *r, unsigned long n, bool dirty)
{
	unsigned long i, k;

	for (i = 0; i < n; i += k) {
		k = min(n - i, VMMEM_PIN_CHUNK);
		unpin_user_pages_dirty_lock(r->pages + i, k, dirty);
		cond_resched();
	}
}

int vmmem_pages_pin(struct vmmem_region *r)
{
	struct mm_struct *mm = current->mm;
	unsigned long pinned = 0;
	long ret;

	/* The limit and the range first: then the page array. */
	ret = vmmem_charge(r);
	if (ret)
		return ret;
	ret = vmmem_range_check(mm, r->user_addr, r->user_addr + r->size);
	if (ret)
		goto uncharge;
	r->pages = vmmem_page_array(r->npages);
	ret = -ENOMEM;
	if (!r->pages)
		goto uncharge;

	while (pinned < r->npages) {
		unsigned long start = r->user_addr + pinned * PAGE_SIZE;
		unsigned long chunk = min(r->npages - pinned, VMMEM_PIN_CHUNK);

		ret = vmmem_pin_chunk(mm, start, chunk, r->pages + pinned);
		if (ret <= 0) {
			/* Unmapped, read-only or unpinnable memory. */
			if (!ret || (ret != -ENOMEM && ret != -EINTR &&
				     ret != -EOPNOTSUPP))
				ret = -EFAULT;
			goto unpin;
		}
		if (!vmmem_pages_valid(r->pages + pinned, ret)) {
			unpin_user_pages(r->pages + pinned, ret);
			ret = -EFAULT;
			goto unpin;
		}
		pinned += ret;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto unpin;
		}
		cond_resched();
	}
	return 0;

unpin:
	vmmem_unpin(r, pinned, false);
	kvfree(r->pages);
	r->pages = NULL;
uncharge:
	vmmem_uncharge(r);
	return ret;
}

/*
 * Contiguous kernel views of the region, as the VMM has in its own
 * mapping: a copy that spans pages is then one copy, not a call per page.
 * They cost a page-table entry per page, and are made in 32 MiB pieces
 * so that making and dropping them reschedules. Where a piece cannot be
 * made (no vmalloc space), copies go page by page through the direct map.
 */
int vmmem_pages_map(struct vmmem_region *r)
{
	unsigned long i, n = DIV_ROUND_UP(r->npages, VMMEM_VMAP_PAGES);

	if (r->npages < 2)
		return 0;
	r->vmaps = kvcalloc(n, sizeof(*r->vmaps), VMMEM_GFP);
	if (!r->vmaps)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned long first = i * VMMEM_VMAP_PAGES;

		r->vmaps[i] = vmap(r->pages + first,
				   min(r->npages - first, VMMEM_VMAP_PAGES),
				   VM_MAP, PAGE_KERNEL);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

void vmmem_pages_release(struct vmmem_region *r)
{
	unsigned long i;

	if (r->vmaps) {
		for (i = 0; i < DIV_ROUND_UP(r->npages, VMMEM_VMAP_PAGES); i++) {
			if (r->vmaps[i])
				vunmap(r->vmaps[i]);
			cond_resched();
		}
		kvfree(r->vmaps);
	}
	if (vmmem_region_user(r)) {
		/* We may have written them: let the owner's fs know. */
		vmmem_unpin(r, r->npages, !vmmem_region_ro(r));
		vmmem_uncharge(r);
		kvfree(r->pages);
	} else {
		/* Mappings within the region may keep them a while. */
		vmmem_pageset_put(r->set);
	}
}
