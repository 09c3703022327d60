// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of the file's offset space: every kernel-backed region has its
 * own range of it, [mmap_offset, mmap_offset + size), never reused.
 *
 * A mapping within one region holds the region's pages (struct
 * vmmem_pageset): it stays valid memory after the region is removed or
 * the file is closed, however it races the remove.
 *
 * A mapping may also cover any page range of [0, lseek(SEEK_END)) that
 * holds a page of some region (libvhost-user and DPDK map [0, offset +
 * size) for each region: holding every region's pages would keep the
 * whole space alive once per region); its pages are those of the regions
 * there at each fault, and stay valid once mapped. An offset that is no
 * region's then (a gap, a removed region) is SIGBUS. A range with no page
 * of any region is refused.
 *
 * Pages come in through page faults only, with the page locked, so that
 * the dirty log can count a page's mappings against its references while
 * it holds the lock (dirty.c); nothing is inserted at mmap() time, and
 * fork() copies no pte: the child faults its pages in too.
 *
 * A region's 2 MiB pages (pin.c) are mapped by the mm with one PMD entry
 * where the mapping's address and offset allow it (file_operations'
 * get_unmapped_area aligns the address), except while the region is
 * dirty-logged: then every page has a pte of its own
 * (vmmem_logged_pte_table()).
 *
 * Shared mappings are write-notify (page_mkwrite): every page is mapped
 * read-only until its first write, which a read-only region's page never
 * gets (SIGBUS). The mappings of one open file live in its own
 * address_space (main.c), so that they can be found and changed as a set.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "compat.h"
#include "internal.h"

static int vmmem_pte_nop(pte_t *pte, unsigned long addr, void *data)
{
	return 0;
}

/*
 * A page of a logged region gets a pte of its own, never a 2 MiB entry:
 * the mm maps a 2 MiB page with one entry wherever the PMD is empty
 * (finish_fault()), writable after one page_mkwrite(), so the PMD gets a
 * page table first (apply_to_page_range() allocates it: pte_alloc() is
 * not exported). The table stays until the mapping goes: no kernel we
 * build for frees page tables under the mmap read lock (compat.h).
 * Caller holds the page lock, under which a dirty-log start unmaps a
 * region's 2 MiB entries (dirty.c): one found here was made before the
 * start and is about to go, and the fault is retried.
 */
static vm_fault_t vmmem_logged_pte_table(struct vm_fault *vmf)
{
	pmd_t pmd = READ_ONCE(*vmf->pmd);
	int ret;

	if (pmd_trans_huge(pmd))
		return VM_FAULT_NOPAGE;
	if (!pmd_none(pmd))
		return 0;
	ret = apply_to_page_range(vmf->vma->vm_mm, vmf->address & PAGE_MASK,
				  PAGE_SIZE, vmmem_pte_nop, NULL);
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	return WARN_ON_ONCE(ret) ? VM_FAULT_SIGBUS : 0;
}

/* Whether offset @pgoff is a page of a region whose log is on. */
static bool vmmem_pgoff_logged(struct vmmem_space *s, pgoff_t pgoff)
{
	struct vmmem_region *r;
	bool logged;
	int idx;

	idx = vmmem_read_lock();
	r = mtree_load(&s->by_pgoff, pgoff);
	logged = r && READ_ONCE(r->dirty) && !vmmem_region_ro(r);
	vmmem_read_unlock(idx);
	return logged;
}

/*
 * Hands @page (referenced) to the mm, which locks it and maps it. A page
 * of a 2 MiB page that is logged gets its page table first, under the
 * page lock. Unlocked again, so that the mm's own checks (a poisoned
 * page) run as for any page: a table made stays, and a write checks
 * again in page_mkwrite().
 */
static vm_fault_t vmmem_fault_page(struct vm_fault *vmf, struct page *page)
{
	struct vmmem_space *s = vmf->vma->vm_file->private_data;
	vm_fault_t ret = 0;

	if (PageCompound(page)) {
		lock_page(page);
		if (vmmem_pgoff_logged(s, vmf->pgoff))
			ret = vmmem_logged_pte_table(vmf);
		unlock_page(page);
	}
	if (ret) {
		put_page(page);
		return ret;
	}
	vmf->page = page;
	return 0;
}

/* A mapping within one region: the page, whatever became of the region. */
static vm_fault_t vmmem_region_fault(struct vm_fault *vmf)
{
	struct vmmem_pageset *set = vmf->vma->vm_private_data;
	unsigned long i = vmf->pgoff - set->pgoff;

	if (WARN_ON_ONCE(vmf->pgoff < set->pgoff || i >= set->npages))
		return VM_FAULT_SIGBUS;
	get_page(set->pages[i]);
	return vmmem_fault_page(vmf, set->pages[i]);
}

/* Another mapping of it (fork(), a split): it holds the pages too. */
static void vmmem_region_open(struct vm_area_struct *vma)
{
	struct vmmem_pageset *set = vma->vm_private_data;

	refcount_inc(&set->ref);
}

static void vmmem_region_close(struct vm_area_struct *vma)
{
	vmmem_pageset_put(vma->vm_private_data);
}

/* A mapping across regions: the region's page if it is there, else SIGBUS. */
static vm_fault_t vmmem_fault(struct vm_fault *vmf)
{
	struct vmmem_space *s = vmf->vma->vm_file->private_data;
	struct vmmem_region *r;
	struct page *page = NULL;
	int idx;

	idx = vmmem_read_lock();
	r = mtree_load(&s->by_pgoff, vmf->pgoff);
	if (r) {
		page = r->pages[vmf->pgoff - vmmem_region_pgoff(r)];
		get_page(page);
	}
	vmmem_read_unlock(idx);
	if (!page)
		return VM_FAULT_SIGBUS;
	return vmmem_fault_page(vmf, page);
}

/*
 * The first write to a page of a shared mapping. A read-only region's
 * pages are marked as such (pin.c) and stay read-only, also after the
 * region is removed.
 */
static vm_fault_t vmmem_page_mkwrite(struct vm_fault *vmf)
{
	struct vmmem_space *s = vmf->vma->vm_file->private_data;
	struct page *page = vmf->page;
	struct vmmem_region *r;
	bool logged = false;
	vm_fault_t ret;
	int idx;

	if (vmmem_page_ro(page))
		return VM_FAULT_SIGBUS;
	/*
	 * Logged under the page lock, which the mm holds until the pte is
	 * writable: a harvest takes it before write-protecting (dirty.c).
	 */
	lock_page(page);
	idx = vmmem_read_lock();
	r = mtree_load(&s->by_pgoff, vmf->pgoff);
	if (r) {
		vmmem_dirty_mark(r, (vmf->pgoff - vmmem_region_pgoff(r)) <<
				 PAGE_SHIFT, PAGE_SIZE);
		logged = READ_ONCE(r->dirty);
	}
	vmmem_read_unlock(idx);
	/* The mm unlocked the page since ->fault: the log may be on now. */
	ret = logged && PageCompound(page) ? vmmem_logged_pte_table(vmf) : 0;
	if (ret) {
		unlock_page(page);
		return ret;
	}
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct vmmem_vm_ops = {
	.fault		= vmmem_fault,
	.page_mkwrite	= vmmem_page_mkwrite,
};

static const struct vm_operations_struct vmmem_region_vm_ops = {
	.open		= vmmem_region_open,
	.close		= vmmem_region_close,
	.fault		= vmmem_region_fault,
	.page_mkwrite	= vmmem_page_mkwrite,
};

int vmmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vmmem_space *s = file->private_data;
	unsigned long index, npages = vma_pages(vma);
	struct vmmem_region *r;
	int ret;

	/*
	 * A private copy of guest memory would silently diverge. MAP_SHARED
	 * of a file not open for writing has VM_MAYSHARE, not VM_SHARED.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/* Guest memory is data to the host: never executable. */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vm_flags_clear(vma, VM_MAYEXEC);

	/*
	 * Under the table lock: the regions in the range stay as they are
	 * while their pages go in, and the range ends below every offset an
	 * add in progress may take, so a fault never finds such a region.
	 */
	ret = mutex_lock_killable(&s->lock);
	if (ret)
		return ret;
	/* What a dirty-log harvest needs once the file is mapped (dirty.c). */
	if (!s->harvest_wp) {
		struct vmmem_wp *wp = vmmem_dirty_wp_alloc();

		ret = -ENOMEM;
		if (!wp)
			goto out;
		/* Pairs with the acquire in vmmem_harvest_region(). */
		smp_store_release(&s->harvest_wp, wp);
	}
	ret = -EINVAL;
	if (vma->vm_pgoff > s->mmap_end >> PAGE_SHIFT ||
	    npages > (s->mmap_end >> PAGE_SHIFT) - vma->vm_pgoff)
		goto out;
	/*
	 * Not one page of a region in it (a removed region's range, found
	 * before the remove): a mapping of nothing is an error, so that a
	 * client that maps what it just found learns it went.
	 */
	index = vma->vm_pgoff;
	if (!mt_find(&s->by_pgoff, &index, vma->vm_pgoff + npages - 1))
		goto out;
	r = mtree_load(&s->by_pgoff, vma->vm_pgoff);
	if (r && vma->vm_pgoff + npages > vmmem_region_pgoff(r) + r->npages)
		r = NULL;	/* not within one region */
	/* Nothing in a range of one read-only region can ever be written. */
	if (r && vmmem_region_ro(r)) {
		ret = -EACCES;
		if (vma->vm_flags & VM_WRITE)
			goto out;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	/* The mapping is never expanded: offsets past it are others'. */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &vmmem_vm_ops;
	if (r) {
		vma->vm_ops = &vmmem_region_vm_ops;
		vma->vm_private_data = r->set;
		refcount_inc(&r->set->ref);
	}
	ret = 0;
out:
	mutex_unlock(&s->lock);
	return ret;
}

/*
 * SEEK_END gives the end of the mmap offset space: clients that check a
 * mapping against the file size (vm-memory's FileOffset) accept offsets.
 */
loff_t vmmem_llseek(struct file *file, loff_t offset, int whence)
{
	struct vmmem_space *s = file->private_data;

	return fixed_size_llseek(file, offset, whence, READ_ONCE(s->mmap_end));
}
