/* SPDX-License-Identifier: GPL-2.0 */
/* vmmem internals: one guest address space per open file. */
#ifndef _VMMEM_H
#define _VMMEM_H

#include <linux/maple_tree.h>
#include <linux/mutex.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/vmmem.h>

#if BITS_PER_LONG < 64
#error "vmmem keys its trees by 64-bit guest addresses"
#endif

struct mm_struct;
struct page;

/*
 * A region never changes after it is published in the trees; readers find
 * it under srcu_read_lock() and it is freed only after synchronize_srcu().
 */
struct vmmem_region {
	u64 gpa;
	u64 size;
	u64 user_addr;		/* 0 for kernel-backed regions */
	u64 mmap_offset;	/* VMMEM_NO_MMAP for user-backed regions */
	u32 id;
	u32 flags;		/* VMMEM_REGION_* */
	unsigned long npages;
	struct page **pages;
	void *vaddr;		/* the pages mapped contiguously, or NULL */
	struct mm_struct *locked_mm;	/* charged RLIMIT_MEMLOCK, user-backed */
};

struct vmmem_space {
	struct mutex lock;		/* serialises table changes */
	struct maple_tree by_gpa;	/* GPA range -> region, RCU readers */
	struct maple_tree by_pgoff;	/* mmap page offsets -> region, RCU */
	struct xarray by_id;		/* id -> region */
	struct srcu_struct srcu;	/* keeps found regions alive */
	u32 next_id;
	unsigned int nr_regions;
	u64 generation;
	u64 mmap_end;			/* next free mmap offset, bytes */
};

static inline u64 vmmem_region_last(const struct vmmem_region *r)
{
	return r->gpa + r->size - 1;
}

static inline bool vmmem_region_user(const struct vmmem_region *r)
{
	return r->user_addr != 0;
}

/* Caller holds srcu_read_lock(&s->srcu). */
static inline struct vmmem_region *vmmem_find(struct vmmem_space *s, u64 gpa)
{
	return mtree_load(&s->by_gpa, gpa);
}

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
void vmmem_pages_map(struct vmmem_region *r);
void vmmem_pages_release(struct vmmem_region *r);

/* access.c: copies between guest memory and user buffers */
long vmmem_ioctl_io(struct vmmem_space *s, void __user *argp, bool write);
long vmmem_ioctl_io_batch(struct vmmem_space *s, void __user *argp);
long vmmem_ioctl_copy(struct vmmem_space *s, void __user *argp);

/* atomic.c */
long vmmem_ioctl_atomic(struct vmmem_space *s, void __user *argp);

/* translate.c */
long vmmem_ioctl_translate(struct vmmem_space *s, void __user *argp);

/* fdio.c */
long vmmem_ioctl_fd_io(struct vmmem_space *s, void __user *argp,
		       bool to_guest);

/* mmap.c */
int vmmem_mmap(struct file *file, struct vm_area_struct *vma);
loff_t vmmem_llseek(struct file *file, loff_t offset, int whence);

extern unsigned int vmmem_max_regions;

#endif /* _VMMEM_H */
