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
 * The page-table entries that map @folio, each holding a reference:
 * 6.12 counts a folio's as one figure. 6.1 has folio_mapcount() out of
 * line and not exported, and counts a 2 MiB entry in the entire mapcount
 * and in every page's mapcount as well.
 */
static inline long vmmem_folio_mapcount(struct folio *folio)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	long i, n = folio_nr_pages(folio), maps = 0, entire;

	if (n == 1)
		return page_mapcount(&folio->page);
	/*
	 * The entire count first: unmapping a 2 MiB entry drops the pages'
	 * counts, then it. So a race counts too few mappings, never more.
	 */
	entire = folio_entire_mapcount(folio);
	/* The entire count before the pages': see above. */
	smp_rmb();
	for (i = 0; i < n; i++)
		maps += atomic_read(&folio_page(folio, i)->_mapcount) + 1;
	return maps - (n - 1) * entire;
#else
	return folio_mapcount(folio);
#endif
}

/*
 * A logged region's 2 MiB pages are kept from 2 MiB entries by a page
 * table that their fault gives the PMD (mmap.c), which must stay until
 * the fault maps the page. CONFIG_PT_RECLAIM (6.14) frees empty page
 * tables under the mmap read lock (MADV_DONTNEED): there, no 2 MiB pages.
 */
#ifdef CONFIG_PT_RECLAIM
#define VMMEM_HUGE_POSSIBLE	false
#else
#define VMMEM_HUGE_POSSIBLE	true
#endif

#endif /* _VMMEM_COMPAT_H */
