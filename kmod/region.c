// SPDX-License-Identifier: GPL-2.0
/*
 * The region table of one guest address space.
 *
 * Writers (add, remove) and mmap() serialise on space->lock, which is
 * never held while user memory is touched: a userfaultfd or FUSE page
 * cannot make another caller wait for it. Walks (walk.c) find regions in
 * the RCU-mode GPA tree without a lock, page faults (mmap.c) in the
 * offset tree; a region enters the GPA tree last, when nothing can fail
 * any more, and the offset tree at offsets no mapping covers yet, so no
 * reader ever sees a region whose add fails. Remove unpublishes a region,
 * waits for the readers with synchronize_srcu() and only then releases
 * its pages.
 */
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "internal.h"

void vmmem_space_init(struct vmmem_space *s)
{
	mutex_init(&s->lock);
	mutex_init(&s->harvest_lock);
	/* Walks and page faults read them without a lock. */
	mt_init_flags(&s->by_gpa, MT_FLAGS_USE_RCU);
	mt_init_flags(&s->by_pgoff, MT_FLAGS_USE_RCU);
	xa_init_flags(&s->by_id, XA_FLAGS_ALLOC1);
}

static void vmmem_region_free(struct vmmem_region *r)
{
	vmmem_pages_release(r);
	vmmem_dirty_free(r->dirty);
	kfree(r);
}

void vmmem_space_destroy(struct vmmem_space *s)
{
	struct vmmem_region *r;
	unsigned long id;

	xa_for_each(&s->by_id, id, r) {
		vmmem_region_free(r);
		cond_resched();
	}
	xa_destroy(&s->by_id);
	/*
	 * No reader is left: free the nodes now, as exit_mmap() does, not
	 * through the RCU destroy walk (which oopses on large trees).
	 */
	mt_clear_in_rcu(&s->by_gpa);
	mtree_destroy(&s->by_gpa);
	mt_clear_in_rcu(&s->by_pgoff);
	mtree_destroy(&s->by_pgoff);
	kvfree(s->harvest_wp);
	mutex_destroy(&s->harvest_lock);
	mutex_destroy(&s->lock);
}

/*
 * Erasing from a maple tree allocates nodes and, in 6.12, gives up
 * silently when it cannot: a region left in the tree and then freed would
 * be a use-after-free. Storing NULL over the range with __GFP_NOFAIL
 * cannot fail (failslab, too, spares __GFP_NOFAIL).
 */
static void vmmem_tree_erase(struct maple_tree *mt, unsigned long first,
			     unsigned long last)
{
	mtree_store_range(mt, first, last, NULL, GFP_KERNEL | __GFP_NOFAIL);
}

/*
 * Writes the new region's id and mmap offset back to the caller without
 * faulting (the caller holds s->lock). Returns -EAGAIN if that needs a
 * fault: the caller drops the lock, faults the argument in and retries.
 */
static int vmmem_add_answer(struct vmmem_region_add __user *uarg,
			    const struct vmmem_region *r)
{
	int ret;

	pagefault_disable();
	ret = put_user(r->id, &uarg->id) ||
	      put_user(r->mmap_offset, &uarg->mmap_offset);
	pagefault_enable();
	return ret ? -EAGAIN : 0;
}

/*
 * Publishes @r and answers the caller, or fails having changed nothing.
 * Caller holds s->lock.
 */
static int vmmem_table_insert(struct vmmem_space *s, struct vmmem_region *r,
			      struct vmmem_region_add __user *uarg)
{
	unsigned long index = r->gpa;
	u64 mmap_end = s->mmap_end;
	int ret;

	if (s->nr_regions >= READ_ONCE(vmmem_max_regions))
		return -ENOSPC;
	if (mt_find(&s->by_gpa, &index, vmmem_region_last(r)))
		return -EEXIST;
	if (!vmmem_region_user(r)) {
		/* A region with room for a 2 MiB page starts at a 2 MiB one. */
		u64 start = r->size >= VMMEM_HUGE_SIZE ?
			    round_up(mmap_end, VMMEM_HUGE_SIZE) : mmap_end;

		if (check_add_overflow(start, r->size, &mmap_end) ||
		    mmap_end > VMMEM_MMAP_LIMIT)
			return -ENOSPC;
		r->mmap_offset = start;
		r->set->pgoff = vmmem_region_pgoff(r);
	}

	ret = xa_alloc_cyclic(&s->by_id, &r->id, r, XA_LIMIT(1, INT_MAX),
			      &s->next_id, GFP_KERNEL_ACCOUNT);
	if (ret < 0)
		return ret == -EBUSY ? -ENOSPC : ret;
	/* Only now can the caller learn the id; no one else can yet. */
	ret = vmmem_add_answer(uarg, r);
	if (ret)
		goto erase_id;
	/*
	 * Page faults read by_pgoff without the lock, but only at offsets of
	 * existing mappings, all below s->mmap_end: @r's offsets are past
	 * it until the add succeeds, so no fault finds @r if it fails.
	 */
	if (!vmmem_region_user(r)) {
		ret = mtree_insert_range(&s->by_pgoff, vmmem_region_pgoff(r),
					 vmmem_region_pgoff(r) + r->npages - 1,
					 r, GFP_KERNEL_ACCOUNT);
		if (ret)
			goto erase_id;
	}
	/* Last, and it cannot be undone: from here on walks find @r. */
	ret = mtree_insert_range(&s->by_gpa, r->gpa, vmmem_region_last(r), r,
				 GFP_KERNEL_ACCOUNT);
	if (ret)
		goto erase_pgoff;

	WRITE_ONCE(s->mmap_end, mmap_end);
	s->nr_regions++;
	WRITE_ONCE(s->generation, s->generation + 1);
	return 0;

erase_pgoff:
	if (!vmmem_region_user(r))
		vmmem_tree_erase(&s->by_pgoff, vmmem_region_pgoff(r),
				 vmmem_region_pgoff(r) + r->npages - 1);
erase_id:
	xa_erase(&s->by_id, r->id);
	return ret;
}

/*
 * Unpublishes @r and bumps the generation, so that walks drop their hints;
 * the caller frees @r after synchronize_srcu(). Caller holds s->lock.
 */
static void vmmem_table_erase(struct vmmem_space *s, struct vmmem_region *r)
{
	vmmem_tree_erase(&s->by_gpa, r->gpa, vmmem_region_last(r));
	if (!vmmem_region_user(r))
		vmmem_tree_erase(&s->by_pgoff, vmmem_region_pgoff(r),
				 vmmem_region_pgoff(r) + r->npages - 1);
	xa_erase(&s->by_id, r->id);
	s->nr_regions--;
	WRITE_ONCE(s->generation, s->generation + 1);
}

/* An early check, so a doomed add allocates nothing; insert checks again. */
static int vmmem_table_precheck(struct vmmem_space *s, u64 gpa, u64 last)
{
	unsigned long index = gpa;
	int ret;

	ret = mutex_lock_killable(&s->lock);
	if (ret)
		return ret;
	if (s->nr_regions >= READ_ONCE(vmmem_max_regions))
		ret = -ENOSPC;
	else if (mt_find(&s->by_gpa, &index, last))
		ret = -EEXIST;
	mutex_unlock(&s->lock);
	return ret;
}

long vmmem_ioctl_add(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_region_add __user *uarg = argp;
	struct vmmem_region_add arg;
	struct vmmem_region *r;
	unsigned int tries;
	u64 end;
	int ret;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if ((arg.flags & ~VMMEM_REGION_FLAGS) ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (!arg.size || !PAGE_ALIGNED(arg.size) ||
	    !PAGE_ALIGNED(arg.guest_addr) || !PAGE_ALIGNED(arg.user_addr))
		return -EINVAL;
	/* The exclusive end must be representable: no region ends at 2^64. */
	if (check_add_overflow(arg.guest_addr, arg.size, &end) ||
	    (arg.user_addr && check_add_overflow(arg.user_addr, arg.size, &end)))
		return -EOVERFLOW;

	ret = vmmem_table_precheck(s, arg.guest_addr,
				   arg.guest_addr + arg.size - 1);
	if (ret)
		return ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	r->gpa = arg.guest_addr;
	r->size = arg.size;
	r->user_addr = arg.user_addr;
	/* The log's flag is state, kept in r->dirty. */
	r->flags = arg.flags & ~VMMEM_REGION_DIRTY_LOG;
	r->npages = arg.size >> PAGE_SHIFT;
	r->mmap_offset = VMMEM_NO_MMAP;

	ret = r->user_addr ? vmmem_pages_pin(r) : vmmem_pages_alloc(r);
	if (ret) {
		kfree(r);
		return ret;
	}
	/* After the pages: their errors come first, as documented. */
	if (arg.flags & VMMEM_REGION_DIRTY_LOG) {
		r->dirty = vmmem_dirty_alloc(r->npages);
		if (!r->dirty)
			ret = -ENOMEM;
	}
	if (!ret)
		ret = vmmem_pages_map(r);

	for (tries = 0; !ret; tries++) {
		ret = mutex_lock_killable(&s->lock);
		if (ret)
			break;
		ret = vmmem_table_insert(s, r, uarg);
		mutex_unlock(&s->lock);
		if (ret != -EAGAIN)
			break;
		/* Fault the answer in with no lock held, then try again. */
		if (tries == VMMEM_FAULT_TRIES ||
		    fault_in_safe_writeable((char __user *)&uarg->id,
					    sizeof(*uarg) -
					    offsetof(typeof(*uarg), id)))
			ret = -EFAULT;
		else if (fatal_signal_pending(current))
			ret = -EINTR;
		else
			ret = 0;
	}
	/* A failed add was never in the GPA tree: no walk can have it. */
	if (ret)
		vmmem_region_free(r);
	return ret;
}

long vmmem_ioctl_remove(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_region_remove arg;
	struct vmmem_region *r;
	int ret;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if ((arg.flags & ~VMMEM_REMOVE_FLAGS) || arg.reserved)
		return -EINVAL;
	if (arg.flags & VMMEM_REMOVE_BY_ADDR) {
		if (arg.id)
			return -EINVAL;
	} else if (arg.guest_addr || arg.size) {
		return -EINVAL;
	}

	ret = mutex_lock_killable(&s->lock);
	if (ret)
		return ret;
	if (arg.flags & VMMEM_REMOVE_BY_ADDR) {
		r = mtree_load(&s->by_gpa, arg.guest_addr);
		if (r && (r->gpa != arg.guest_addr || r->size != arg.size))
			r = NULL;
	} else {
		r = xa_load(&s->by_id, arg.id);
	}
	if (!r) {
		mutex_unlock(&s->lock);
		return -ENOENT;
	}
	vmmem_table_erase(s, r);
	mutex_unlock(&s->lock);

	/*
	 * Walks that found @r finish before its pages go. They hold no user
	 * fault and pause at every budget, so this wait is short.
	 */
	synchronize_srcu(&vmmem_srcu);
	vmmem_region_free(r);
	return 0;
}

static void vmmem_region_info(const struct vmmem_region *r,
			      struct vmmem_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->guest_addr = r->gpa;
	info->size = r->size;
	info->user_addr = r->user_addr;
	info->mmap_offset = r->mmap_offset;
	info->id = r->id;
	info->flags = vmmem_region_flags(r);
	info->backing = vmmem_region_user(r) ? VMMEM_BACKING_USER :
					       VMMEM_BACKING_KERNEL;
	info->huge_chunks = r->huge_chunks;
}

/*
 * Copies the table to @uinfo under the lock that makes it one snapshot,
 * without faulting: -EAGAIN if the array must be faulted in first.
 */
static int vmmem_list_copy(struct vmmem_space *s,
			   struct vmmem_region_info __user *uinfo)
{
	struct vmmem_region_info info;
	struct vmmem_region *r;
	unsigned long index = 0;
	unsigned int i = 0;
	int ret = 0;

	pagefault_disable();
	mt_for_each(&s->by_gpa, r, index, ULONG_MAX) {
		vmmem_region_info(r, &info);
		if (copy_to_user(&uinfo[i++], &info, sizeof(info))) {
			ret = -EAGAIN;
			break;
		}
	}
	pagefault_enable();
	return ret;
}

long vmmem_ioctl_list(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_region_list __user *uarg = argp;
	struct vmmem_region_info __user *uinfo;
	struct vmmem_region_list arg;
	unsigned int tries;
	u32 count;
	u64 gen;
	int ret;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved)
		return -EINVAL;
	uinfo = u64_to_user_ptr(arg.regions);

	for (tries = 0;; tries++) {
		ret = mutex_lock_killable(&s->lock);
		if (ret)
			return ret;
		count = s->nr_regions;
		gen = s->generation;
		ret = arg.count < count ? -E2BIG : vmmem_list_copy(s, uinfo);
		mutex_unlock(&s->lock);
		if (ret != -EAGAIN)
			break;
		/* Fault the array in with no lock held, then try again. */
		if (tries == VMMEM_FAULT_TRIES ||
		    fault_in_safe_writeable((char __user *)uinfo,
					    array_size(count, sizeof(*uinfo))))
			ret = -EFAULT;
		else if (fatal_signal_pending(current))
			ret = -EINTR;
		if (ret != -EAGAIN)
			break;
	}

	if (put_user(count, &uarg->count) || put_user(gen, &uarg->generation))
		return -EFAULT;
	return ret;
}

long vmmem_ioctl_find(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_region_find __user *uarg = argp;
	struct vmmem_region_find arg;
	struct vmmem_region *r;
	int idx;

	/* All of it: an argument that cannot hold the answer is -EFAULT. */
	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved)
		return -EINVAL;

	idx = vmmem_read_lock();
	r = vmmem_find(s, arg.guest_addr);
	if (r)
		vmmem_region_info(r, &arg.region);
	vmmem_read_unlock(idx);

	if (!r)
		return -ENXIO;
	if (copy_to_user(&uarg->region, &arg.region, sizeof(arg.region)))
		return -EFAULT;
	return 0;
}
