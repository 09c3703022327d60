// SPDX-License-Identifier: GPL-2.0
/*
 * The pages behind a region: allocated by the module, or the caller's own
 * pages pinned long-term (the way ACRN, Nitro Enclaves and VFIO pin a VMM's
 * memory) and charged to its RLIMIT_MEMLOCK.
 */
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vmmem.h"

/* Pages per pin_user_pages_fast() call; between calls we may reschedule. */
#define VMMEM_PIN_CHUNK	512

static struct page **vmmem_page_array(unsigned long npages)
{
	/* A huge user-chosen size must fail quietly, not warn. */
	return kvcalloc(npages, sizeof(struct page *),
			GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
}

static void vmmem_pages_put(struct page **pages, unsigned long n)
{
	unsigned long i;

	/* Mappings hold their own references: pages outlive the region. */
	for (i = 0; i < n; i++)
		put_page(pages[i]);
}

int vmmem_pages_alloc(struct vmmem_region *r)
{
	unsigned long i;

	if (r->npages > totalram_pages())
		return -ENOMEM;
	r->pages = vmmem_page_array(r->npages);
	if (!r->pages)
		return -ENOMEM;

	for (i = 0; i < r->npages; i++) {
		/* Zeroed: a guest must not see another tenant's data. */
		r->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO |
					 __GFP_NOWARN);
		if (!r->pages[i])
			goto fail;
		if (!(i % VMMEM_PIN_CHUNK)) {
			if (fatal_signal_pending(current))
				goto fail_page;
			cond_resched();
		}
	}
	return 0;

fail_page:
	i++;
fail:
	vmmem_pages_put(r->pages, i);
	kvfree(r->pages);
	r->pages = NULL;
	return fatal_signal_pending(current) ? -EINTR : -ENOMEM;
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

static void vmmem_unaccount(struct vmmem_region *r)
{
	/* An exited mm has no limit left to give back to. */
	if (mmget_not_zero(r->locked_mm)) {
		account_locked_vm(r->locked_mm, r->npages, false);
		mmput(r->locked_mm);
	}
	mmdrop(r->locked_mm);
	r->locked_mm = NULL;
}

int vmmem_pages_pin(struct vmmem_region *r)
{
	unsigned long pinned = 0;
	int ret;

	r->pages = vmmem_page_array(r->npages);
	if (!r->pages)
		return -ENOMEM;

	/* Checks RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK. */
	ret = account_locked_vm(current->mm, r->npages, true);
	if (ret)
		goto free_array;
	r->locked_mm = current->mm;
	mmgrab(r->locked_mm);

	while (pinned < r->npages) {
		int chunk = min_t(unsigned long, r->npages - pinned,
				  VMMEM_PIN_CHUNK);

		ret = pin_user_pages_fast(r->user_addr + pinned * PAGE_SIZE,
					  chunk, FOLL_WRITE | FOLL_LONGTERM,
					  r->pages + pinned);
		if (ret <= 0) {
			/* Unmapped, read-only or unpinnable memory. */
			if (ret != -ENOMEM && ret != -EINTR)
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
	unpin_user_pages(r->pages, pinned);
	vmmem_unaccount(r);
free_array:
	kvfree(r->pages);
	r->pages = NULL;
	return ret;
}

/*
 * One contiguous kernel view of the region, as the VMM has in its own
 * mapping: a copy that spans pages is then one copy, not a call per page.
 * It costs a page-table entry per page. Without it (no vmalloc space, or a
 * single page) copies go page by page through the direct map.
 */
void vmmem_pages_map(struct vmmem_region *r)
{
	if (r->npages > 1 && r->npages <= UINT_MAX)
		r->vaddr = vmap(r->pages, r->npages, VM_MAP, PAGE_KERNEL);
}

void vmmem_pages_release(struct vmmem_region *r)
{
	if (r->vaddr)
		vunmap(r->vaddr);
	if (vmmem_region_user(r)) {
		/* We may have written them: let the owner's fs know. */
		unpin_user_pages_dirty_lock(r->pages, r->npages,
					    !(r->flags & VMMEM_REGION_READONLY));
		vmmem_unaccount(r);
	} else {
		vmmem_pages_put(r->pages, r->npages);
	}
	kvfree(r->pages);
}
