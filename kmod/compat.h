/* SPDX-License-Identifier: GPL-2.0 */
/* Differences between the kernels vmmem supports (6.1 and 6.12). */
#ifndef _VMMEM_COMPAT_H
#define _VMMEM_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* vm_flags became read-only behind these helpers in 6.3. */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* pin_user_pages() lost its vmas argument in 6.5. */
static inline long vmmem_pin_user_pages(unsigned long start,
					unsigned long nr_pages,
					unsigned int gup_flags,
					struct page **pages)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return pin_user_pages(start, nr_pages, gup_flags, pages, NULL);
#else
	return pin_user_pages(start, nr_pages, gup_flags, pages);
#endif
}

/*
 * vfs_iter_write() takes freeze protection itself only from 6.7; before,
 * its callers do (loop, overlayfs, nfsd), or a frozen filesystem is
 * written to.
 */
static inline ssize_t vmmem_iter_write(struct file *file,
				       struct iov_iter *iter, loff_t *ppos)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
	ssize_t ret;

	file_start_write(file);
	ret = vfs_iter_write(file, iter, ppos, 0);
	file_end_write(file);
	return ret;
#else
	return vfs_iter_write(file, iter, ppos, 0);
#endif
}

/*
 * The page-table mappings of an order-0 page: page_mapcount() is gone in
 * 6.12, and 6.1's folio_mapcount() is out of line and not exported.
 */
static inline int vmmem_page_mapcount(struct page *page)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
	return page_mapcount(page);
#else
	return folio_mapcount(page_folio(page));
#endif
}

#endif /* _VMMEM_COMPAT_H */
