// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of kernel-backed regions. All pages are inserted at mmap() time;
 * each mapped page holds its own reference, so a mapping stays valid
 * memory after its region is removed or the file is closed.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>

#include "compat.h"
#include "internal.h"

/* A page table's worth at a time, rescheduling in between. */
#define VMMEM_INSERT_CHUNK	512UL

static int vmmem_insert_pages(struct vm_area_struct *vma, struct page **pages,
			      unsigned long npages)
{
	unsigned long done = 0;

	while (done < npages) {
		unsigned long n = min(npages - done, VMMEM_INSERT_CHUNK);
		unsigned long left = n;
		int ret;

		ret = vm_insert_pages(vma, vma->vm_start + done * PAGE_SIZE,
				      pages + done, &left);
		if (ret)
			return ret;
		done += n;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

int vmmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vmmem_space *s = file->private_data;
	unsigned long first, npages = vma_pages(vma);
	struct vmmem_region *r;
	int ret;

	/*
	 * A private copy of guest memory would silently diverge. MAP_SHARED
	 * of an O_RDONLY file gives a read-only mapping without VM_SHARED.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/* Guest memory is data to the host: never executable. */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vm_flags_clear(vma, VM_MAYEXEC);

	/* Under the table lock, which a remove takes to unpublish @r. */
	ret = mutex_lock_killable(&s->lock);
	if (ret)
		return ret;
	r = mtree_load(&s->by_pgoff, vma->vm_pgoff);
	ret = -EINVAL;
	if (!r)
		goto out;
	first = vma->vm_pgoff - (r->mmap_offset >> PAGE_SHIFT);
	if (npages > r->npages - first)
		goto out;
	if (vmmem_region_ro(r)) {
		ret = -EACCES;
		if (vma->vm_flags & VM_WRITE)
			goto out;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	/* The mapping is the region's size or less, forever. */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	ret = vmmem_insert_pages(vma, r->pages + first, npages);
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
