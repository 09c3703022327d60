// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of kernel-backed regions. All pages are inserted at mmap() time;
 * each mapped page holds its own reference, so a mapping stays valid
 * memory after its region is removed or the file is closed.
 */
#include <linux/fs.h>
#include <linux/mm.h>

#include "compat.h"
#include "vmmem.h"

int vmmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vmmem_space *s = file->private_data;
	unsigned long first, npages = vma_pages(vma);
	struct vmmem_region *r;
	int idx, ret;

	/* A private copy of guest memory would silently diverge. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	idx = srcu_read_lock(&s->srcu);
	r = mtree_load(&s->by_pgoff, vma->vm_pgoff);
	ret = -EINVAL;
	if (!r)
		goto out;
	first = vma->vm_pgoff - (r->mmap_offset >> PAGE_SHIFT);
	if (npages > r->npages - first)
		goto out;
	if (r->flags & VMMEM_REGION_READONLY) {
		ret = -EACCES;
		if (vma->vm_flags & VM_WRITE)
			goto out;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	/* The mapping is the region's size or less, forever. */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	ret = vm_insert_pages(vma, vma->vm_start, r->pages + first, &npages);
out:
	srcu_read_unlock(&s->srcu, idx);
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
