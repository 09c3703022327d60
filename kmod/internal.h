/* SPDX-License-Identifier: GPL-2.0 */
/* vmmem module internals: one guest address space per open file. */
#ifndef _VMMEM_INTERNAL_H
#define _VMMEM_INTERNAL_H

#include <linux/fs.h>
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/refcount.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/vmmem.h>

#if BITS_PER_LONG < 64
#error "vmmem keys its trees by 64-bit guest addresses"
#endif

/* mmap offsets stay below 2^62 so that any off_t and pgoff can hold them. */
#define VMMEM_MMAP_LIMIT	BIT_ULL(62)

struct mm_struct;
struct page;
struct user_struct;
struct vmmem_wp;

/* A region is mapped in vmap()s of 32 MiB: a copy never crosses one. */
#define VMMEM_VMAP_PAGES	(1UL << 13)
#define VMMEM_VMAP_BYTES	(VMMEM_VMAP_PAGES << PAGE_SHIFT)

/*
 * A region never changes after it is published in by_gpa; readers find it
 * under vmmem_read_lock() and it is freed only after synchronize_srcu().
 * One SRCU domain serves every open file: an open costs no per-CPU memory.
 * A remove therefore waits for every reader of every file, so readers are
 * short and cannot be preempted (a low-priority task preempted inside one
 * would stall every tenant's remove): nothing in them sleeps or faults,
 * and walks (walk.c) leave at every budget.
 */
extern struct srcu_struct vmmem_srcu;

/* Preemption off around the whole section, or it may happen inside. */
static inline int vmmem_read_lock(void)
{
	preempt_disable();
	return srcu_read_lock(&vmmem_srcu);
}

static inline void vmmem_read_unlock(int idx)
{
	srcu_read_unlock(&vmmem_srcu, idx);
	preempt_enable();
}

/*
 * The pages of a kernel-backed region, shared by the region and every
 * mapping within it (its vm_private_data), so that such a mapping stays
 * valid memory after the region is removed or the file closed: the last
 * of them frees the pages. @pgoff is the region's first mmap page offset.
 */
struct vmmem_pageset {
	refcount_t ref;
	unsigned long npages;
	pgoff_t pgoff;
	struct page *pages[];
};

void vmmem_pageset_put(struct vmmem_pageset *set);

struct vmmem_region {
	u64 gpa;
	u64 size;
	u64 user_addr;		/* 0 for kernel-backed regions */
	u64 mmap_offset;	/* VMMEM_NO_MMAP for user-backed regions */
	u32 id;
	u32 flags;		/* VMMEM_REGION_* */
	u32 huge_chunks;	/* 2 MiB folios among its pages */
	unsigned long npages;
	struct page **pages;	/* set->pages for kernel-backed regions */
	struct vmmem_pageset *set;
	void **vmaps;		/* VMMEM_VMAP_PAGES pages each, or NULL */
	/* user-backed: the RLIMIT_MEMLOCK charge and the VmPin figure */
	struct user_struct *locked_user;	/* NULL with CAP_IPC_LOCK */
	struct mm_struct *pinned_mm;
	/* the dirty log while it is on (dirty.c); set under s->lock */
	struct vmmem_dirty *dirty;
};

/* A bit per page, and a summary bit per word of them. */
struct vmmem_dirty {
	struct vmmem_dirty *next;	/* on a list of logs to free */
	unsigned long *sum;
	unsigned long bits[];
};

/*
 * A kernel-backed region is made of 2 MiB folios where it can be: each
 * chunk of VMMEM_HUGE_PAGES pages at a multiple of that in the region
 * (its mmap offset is 2 MiB aligned, region.c), unless the allocator had
 * none at hand or the huge_pages parameter is off.
 */
#define VMMEM_HUGE_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define VMMEM_HUGE_PAGES	BIT(VMMEM_HUGE_ORDER)
#define VMMEM_HUGE_SIZE		(VMMEM_HUGE_PAGES << PAGE_SHIFT)

extern bool vmmem_huge_pages;

/*
 * The private field of a read-only region's folios (module-allocated):
 * the head page's, as a tail page's holds folio metadata.
 */
#define VMMEM_PAGE_READONLY	1UL

static inline bool vmmem_page_ro(struct page *page)
{
	return page_private(compound_head(page)) == VMMEM_PAGE_READONLY;
}

static inline void vmmem_page_set_ro(struct page *page)
{
	set_page_private(compound_head(page), VMMEM_PAGE_READONLY);
}

struct vmmem_space {
	/*
	 * Serialises table changes and mmap(). Never held while touching user
	 * memory or taking mmap_lock: mmap() takes it under mmap_lock.
	 */
	struct mutex lock;
	struct mutex harvest_lock;	/* one dirty-log harvest at a time */
	/*
	 * What a harvest re-protects, under harvest_lock; allocated at the
	 * first mmap(), published with a release: "ever mapped".
	 */
	struct vmmem_wp *harvest_wp;
	struct maple_tree by_gpa;	/* GPA range -> region, RCU readers */
	struct maple_tree by_pgoff;	/* mmap page offsets -> region, faults */
	struct xarray by_id;		/* id -> region */
	u32 next_id;
	unsigned int nr_regions;
	u64 generation;			/* WRITE_ONCE: read by walks */
	u64 mmap_end;			/* next free mmap offset, bytes */
	struct inode *inode;		/* its address_space: the mappings */
};

static inline u64 vmmem_region_last(const struct vmmem_region *r)
{
	return r->gpa + r->size - 1;
}

static inline bool vmmem_region_user(const struct vmmem_region *r)
{
	return r->user_addr != 0;
}

static inline bool vmmem_region_ro(const struct vmmem_region *r)
{
	return r->flags & VMMEM_REGION_READONLY;
}

/* The flags a caller sees: the log's is the region's state now. */
static inline u32 vmmem_region_flags(const struct vmmem_region *r)
{
	return r->flags | (READ_ONCE(r->dirty) ? VMMEM_REGION_DIRTY_LOG : 0);
}

static inline unsigned long vmmem_region_pgoff(const struct vmmem_region *r)
{
	return r->mmap_offset >> PAGE_SHIFT;
}

/* Caller holds vmmem_read_lock() or s->lock. */
static inline struct vmmem_region *vmmem_find(struct vmmem_space *s, u64 gpa)
{
	return mtree_load(&s->by_gpa, gpa);
}

/* The region's contiguous kernel view at @off, and its bytes, or NULL. */
static inline void *vmmem_region_vaddr(const struct vmmem_region *r, u64 off,
				       u64 *avail)
{
	void *base = r->vmaps ? r->vmaps[off / VMMEM_VMAP_BYTES] : NULL;
	u64 in = off % VMMEM_VMAP_BYTES;

	if (!base)
		return NULL;
	*avail = min(r->size - off, VMMEM_VMAP_BYTES - in);
	return base + in;
}

/*
 * walk.c: a read-side pass over the table for one ioctl.
 *
 * It runs inside vmmem_srcu with page faults disabled, so that no
 * user page (userfaultfd, FUSE) can hold up a removal; user accesses that
 * fault are retried outside the section. Work is charged to a budget kept
 * across the whole ioctl: when it runs out the walk leaves the section,
 * reschedules and stops at a fatal signal. Whenever the walk leaves the
 * section, regions found before are forgotten: callers look up again.
 */
struct vmmem_walk {
	struct vmmem_space *s;
	struct vmmem_region *hint[2];	/* last two regions found */
	u64 gen;			/* s->generation of the hint */
	unsigned int budget;		/* pages of work before a pause */
	int idx;			/* vmmem_read_lock() */
};

/*
 * Fault-ins in a row after which an access that still faults is -EFAULT:
 * the page is there yet the access cannot be made (e.g. shadow-stack
 * memory, which the kernel's fault-in accepts and a plain write faults
 * on), or another thread keeps taking it away.
 */
#define VMMEM_FAULT_TRIES	8

void vmmem_walk_begin(struct vmmem_walk *w, struct vmmem_space *s);
void vmmem_walk_end(struct vmmem_walk *w);
struct vmmem_region *vmmem_walk_find(struct vmmem_walk *w, u64 gpa);
int vmmem_walk_charge(struct vmmem_walk *w, u64 bytes);
ssize_t vmmem_walk_fault_in(struct vmmem_walk *w, void __user *ubuf,
			    size_t len, bool to_user);
int vmmem_walk_copy_to_user(struct vmmem_walk *w, void __user *to,
			    const void *from, size_t n);
int vmmem_walk_copy_from_user(struct vmmem_walk *w, void *to,
			      const void __user *from, size_t n);

/* dirty.c: the dirty log */
struct vmmem_dirty *vmmem_dirty_alloc(unsigned long npages);
void vmmem_dirty_free(struct vmmem_dirty *d);
void vmmem_dirty_mark(struct vmmem_region *r, u64 off, u64 len);
u32 vmmem_dirty_mark_gpa(struct vmmem_space *s, u64 gpa, u64 len);
struct vmmem_wp *vmmem_dirty_wp_alloc(void);
long vmmem_ioctl_dirty_track(struct vmmem_space *s, void __user *argp);
long vmmem_ioctl_dirty_harvest(struct vmmem_space *s, void __user *argp);

/* region.c: the table */
void vmmem_space_init(struct vmmem_space *s);
void vmmem_space_destroy(struct vmmem_space *s);
long vmmem_ioctl_add(struct vmmem_space *s, void __user *argp);
long vmmem_ioctl_remove(struct vmmem_space *s, void __user *argp);
long vmmem_ioctl_list(struct vmmem_space *s, void __user *argp);
long vmmem_ioctl_find(struct vmmem_space *s, void __user *argp);

/* pin.c: the pages behind a region */
int vmmem_pages_alloc(struct vmmem_region *r);
int vmmem_pages_pin(struct vmmem_region *r);
int vmmem_pages_map(struct vmmem_region *r);
void vmmem_pages_release(struct vmmem_region *r);

/* access.c: copies between guest memory and user buffers */
long vmmem_ioctl_io(struct vmmem_space *s, void __user *argp, bool write);
long vmmem_ioctl_io_batch(struct vmmem_space *s, void __user *argp,
			  fmode_t mode);
long vmmem_ioctl_copy(struct vmmem_space *s, void __user *argp);

/* atomic.c */
long vmmem_ioctl_atomic(struct vmmem_space *s, void __user *argp,
			fmode_t mode);

/* translate.c */
long vmmem_ioctl_translate(struct vmmem_space *s, void __user *argp);

/* fdio.c */
long vmmem_ioctl_fd_io(struct vmmem_space *s, void __user *argp,
		       bool to_guest);

/* mmap.c */
int vmmem_mmap(struct file *file, struct vm_area_struct *vma);
loff_t vmmem_llseek(struct file *file, loff_t offset, int whence);

extern unsigned int vmmem_max_regions;

#endif /* _VMMEM_INTERNAL_H */
