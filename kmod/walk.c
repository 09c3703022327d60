// SPDX-License-Identifier: GPL-2.0
/*
 * Read-side walks over a guest address space (struct vmmem_walk).
 *
 * Regions are freed only after synchronize_srcu(), so a walk takes no
 * lock; it runs with preemption and page faults disabled. A user access
 * that faults leaves the section, faults the page in outside it (where a
 * userfaultfd or FUSE page may keep it waiting, killably), then comes back
 * and looks the regions up again. A remove therefore never waits for user
 * memory, and waits for at most one budget of copying.
 */
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "internal.h"

DEFINE_SRCU(vmmem_srcu);

/*
 * Work between two pauses: 256 KiB of copying, or 64 lookups; about
 * 20 us on hardware, which bounds how long a remove waits for a walk and
 * how long the walk runs without preemption.
 */
#define VMMEM_WALK_BUDGET	64

static void vmmem_walk_enter(struct vmmem_walk *w)
{
	w->idx = vmmem_read_lock();
	pagefault_disable();
}

static void vmmem_walk_leave(struct vmmem_walk *w)
{
	pagefault_enable();
	vmmem_read_unlock(w->idx);
	/* Outside the section a found region may be freed: forget them. */
	w->hint[0] = NULL;
	w->hint[1] = NULL;
}

void vmmem_walk_begin(struct vmmem_walk *w, struct vmmem_space *s)
{
	w->s = s;
	w->hint[0] = NULL;
	w->hint[1] = NULL;
	w->gen = 0;
	w->budget = VMMEM_WALK_BUDGET;
	vmmem_walk_enter(w);
}

void vmmem_walk_end(struct vmmem_walk *w)
{
	vmmem_walk_leave(w);
}

/*
 * The region holding @gpa, or NULL. The hint (a descriptor chain mostly
 * stays in one region, or goes back and forth between a ring and its
 * buffers) is dropped whenever the table has changed since it was filled:
 * an access that starts after a remove returned never reaches the removed
 * region, even while an older walk keeps it alive.
 */
struct vmmem_region *vmmem_walk_find(struct vmmem_walk *w, u64 gpa)
{
	u64 gen = READ_ONCE(w->s->generation);
	struct vmmem_region *r;

	if (gen != w->gen) {
		w->gen = gen;
		w->hint[0] = NULL;
		w->hint[1] = NULL;
	}
	r = w->hint[0];
	if (r && gpa - r->gpa < r->size)
		return r;
	r = w->hint[1];
	if (!r || gpa - r->gpa >= r->size) {
		r = vmmem_find(w->s, gpa);
		if (!r)
			return NULL;
	}
	w->hint[1] = w->hint[0];
	w->hint[0] = r;
	return r;
}

/*
 * Charges one step of @bytes to the budget. When it is spent, leaves the
 * section, reschedules and comes back: regions must be looked up again.
 * Returns -EINTR if a fatal signal is pending, else 0.
 */
int vmmem_walk_charge(struct vmmem_walk *w, u64 bytes)
{
	u64 cost = bytes > PAGE_SIZE ? DIV_ROUND_UP_ULL(bytes, PAGE_SIZE) : 1;

	if (cost < w->budget) {
		w->budget -= cost;
		return 0;
	}
	w->budget = VMMEM_WALK_BUDGET;
	vmmem_walk_leave(w);
	cond_resched();
	vmmem_walk_enter(w);
	return fatal_signal_pending(current) ? -EINTR : 0;
}

/*
 * A copy to (@to_user) or from the user range at @ubuf faulted inside the
 * walk: faults it in outside the section, without changing its contents.
 * Returns how many bytes from @ubuf on are now faulted in (the caller's
 * next try must not go further, or it may fault again at a hole it can
 * never pass), -EFAULT if not even the first one is, or -EINTR. Regions
 * must be looked up again.
 */
ssize_t vmmem_walk_fault_in(struct vmmem_walk *w, void __user *ubuf,
			    size_t len, bool to_user)
{
	size_t left;
	int ret;

	vmmem_walk_leave(w);
	if (to_user)
		left = fault_in_safe_writeable(ubuf, len);
	else
		left = fault_in_readable(ubuf, len);
	vmmem_walk_enter(w);
	if (fatal_signal_pending(current))
		return -EINTR;
	if (left == len)
		return -EFAULT;
	/* Whatever happens next, this cost a page of work. */
	ret = vmmem_walk_charge(w, PAGE_SIZE);
	return ret ? ret : len - left;
}

/*
 * copy_to_user() and copy_from_user() of small kernel-side buffers (never
 * guest memory, which may go away outside the section) from inside a
 * walk: an access that must fault is redone outside the section.
 * Return 0 or -EFAULT; regions must be looked up again either way.
 */
int vmmem_walk_copy_to_user(struct vmmem_walk *w, void __user *to,
			    const void *from, size_t n)
{
	int ret = 0;

	if (!copy_to_user(to, from, n))
		return 0;
	vmmem_walk_leave(w);
	if (copy_to_user(to, from, n))
		ret = -EFAULT;
	vmmem_walk_enter(w);
	return ret;
}

int vmmem_walk_copy_from_user(struct vmmem_walk *w, void *to,
			      const void __user *from, size_t n)
{
	int ret = 0;

	if (!copy_from_user(to, from, n))
		return 0;
	vmmem_walk_leave(w);
	if (copy_from_user(to, from, n))
		ret = -EFAULT;
	vmmem_walk_enter(w);
	return ret;
}
